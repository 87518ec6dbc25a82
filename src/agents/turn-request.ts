import { IsArray, IsInt, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import type { ChatMessage } from '@openagentio/nestjs';

/** One turn of the demo conversation, as the page (or any client) sends it to `triage`. */
export class TurnRequest {
  @IsString()
  @MinLength(1)
  @MaxLength(2000)
  text!: string;

  /** The conversation so far, this message included (the page keeps it); handed on by the history policy. */
  @IsOptional()
  @IsArray()
  messages?: ChatMessage[];

  /** How fast the canned answers stream (ms per word). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  delay_ms?: number;
}
