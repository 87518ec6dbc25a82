// The DTO → JSON Schema reader moved to the bus package (discovery shows targets' input schemas too); the MCP
// endpoint keeps using it from there, and this name stays for whoever imported it from the bridges.
export { schemaFromDto } from '@openagentio/nestjs';
