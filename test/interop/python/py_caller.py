"""Upstream peer, calling side: openagentio 0.3.0 (PyPI) calling our targets.

    python py_caller.py NATS_URL [--agent py-caller] [--tenant TENANT]

Reads one JSON command per line on stdin and runs each in its own task:

  {"id": "1", "op": "invoke", "target": "t", "payload": {...}, "timeout": 2}
  {"id": "2", "op": "stream", "target": "t", "payload": {...}, "timeout": 5.0,
   "stop_after": 3, "read_delay_ms": 20}
  {"id": "3", "op": "publish", "event_type": "orders.created",
   "payload": {...}, "count": 1}

"fields" (session_id, conversation_id, tenant_id, user_id, channel,
traceparent, trace_id, span_id) and "metadata" go into the request or event
envelope; "payload_bytes": n replaces the payload with a string of n
characters. A stream prints one {"type":"frame"} line per frame it yields;
every command ends with one {"type":"done"} line whose "outcome" is "reply"
(with the reply envelope), "end" (the stream ended), "stopped" (we left the
stream after stop_after frames and closed it), "published" or "raised" (with
the exception). Prints {"type":"ready"} once connected; exits when stdin
closes.
"""

import argparse
import asyncio
import json
import time

from openagentio import (
    Bus,
    Envelope,
    MessageReceived,
    NATSDriver,
    WithAgentID,
    WithTenant,
    WithTimeout,
    WithTransport,
)

from peer_common import (
    elapsed_ms,
    emit,
    error_fields,
    log_as_json_lines,
    stdin_reader,
)


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("nats_url")
    parser.add_argument("--agent", default="py-caller")
    parser.add_argument("--tenant", default="")
    return parser.parse_args()


def payload_of(cmd):
    if "payload_bytes" in cmd:
        return "x" * cmd["payload_bytes"]
    return cmd.get("payload")


def envelope_of(cmd, event_type):
    """The envelope to send; None for a request without fields or metadata."""
    fields = cmd.get("fields") or {}
    metadata = cmd.get("metadata")
    if not fields and not metadata and event_type == MessageReceived:
        return None
    env = Envelope.new(event_type)
    for key, value in fields.items():
        setattr(env, key, value)
    payload = payload_of(cmd)
    if payload is not None:
        env.payload = json.dumps(payload, separators=(",", ":")).encode()
    env.metadata = metadata
    return env


async def invoke(bus, cmd, start):
    env = envelope_of(cmd, MessageReceived)
    reply = await bus.invoke(
        cmd["target"],
        env if env is not None else payload_of(cmd),
        WithTimeout(cmd.get("timeout", 5.0)),
    )
    return {"outcome": "reply", "envelope": reply.to_dict()}


async def stream(bus, cmd, start):
    env = envelope_of(cmd, MessageReceived)
    frames = await bus.stream_invoke(
        cmd["target"],
        env if env is not None else payload_of(cmd),
        WithTimeout(cmd.get("timeout", 5.0)),
    )
    stop_after = cmd.get("stop_after")
    delay = cmd.get("read_delay_ms", 0) / 1000
    count = 0
    async for frame in frames:
        count += 1
        emit(id=cmd["id"], type="frame", t_ms=elapsed_ms(start),
             envelope=frame.to_dict())
        if stop_after is not None and count >= stop_after:
            await frames.close()
            return {"outcome": "stopped", "frames": count}
        if delay:
            await asyncio.sleep(delay)
    return {"outcome": "end", "frames": count}


async def publish(bus, cmd, start):
    event_ids = []
    for i in range(cmd.get("count", 1)):
        env = envelope_of(cmd, cmd["event_type"])
        if "count" in cmd:
            env.payload = json.dumps({"n": i}).encode()
        await bus.publish(env)
        event_ids.append(env.event_id)
    await bus.transport.flush()
    return {"outcome": "published", "event_ids": event_ids}


OPS = {"invoke": invoke, "stream": stream, "publish": publish}


async def run(bus, cmd):
    start = time.monotonic()
    try:
        result = await OPS[cmd["op"]](bus, cmd, start)
    except Exception as exc:  # noqa: BLE001 - reported to the test
        result = {"outcome": "raised", **error_fields(exc)}
    emit(id=cmd["id"], type="done", op=cmd["op"], elapsed_ms=elapsed_ms(start),
         **result)


async def main():
    args = parse_args()
    log_as_json_lines()
    transport = NATSDriver(url=args.nats_url, name=args.agent)
    options = [WithAgentID(args.agent), WithTransport(transport)]
    if args.tenant:
        options.append(WithTenant(args.tenant))
    bus = Bus.new(*options)
    await bus.connect()
    emit(type="ready", agent=args.agent, tenant=args.tenant)

    reader = await stdin_reader()
    tasks = set()
    while line := await reader.readline():
        if not line.strip():
            continue
        task = asyncio.create_task(run(bus, json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    for task in tasks:
        task.cancel()
    await bus.close()


if __name__ == "__main__":
    asyncio.run(main())
