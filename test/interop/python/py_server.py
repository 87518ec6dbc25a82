"""Upstream peer, serving side: openagentio 0.3.0 (PyPI) serving targets.

    python py_server.py NATS_URL [--agent py-server] [--tenant TENANT]

Invoke targets:
  py.echo          returns {"echoed": payload, "by": agent}
  py.identity      returns the payload as it is
  py.fail          raises by payload.kind: "invalid" (InvalidRequestError),
                   "unavailable" (AgentUnavailableError), "timeout"
                   (asyncio.TimeoutError), anything else a RuntimeError
  py.slow          sleeps payload.ms milliseconds, returns {"slept_ms": ms}
  py.big           returns a string of payload.bytes characters
Stream targets:
  py.words         started, one delta per word of payload.text (or
                   payload.count deltas "w0 ", "w1 ", ...), final
                   {"result": {"words": n}}
  py.fail_stream   started, one delta, then raises like py.fail
  py.ticker        started, payload.count deltas "t0 ", ... one every
                   payload.interval_ms, final; prints ticker_done at the
                   end, or ticker_cancelled if its task is cancelled
Event subscriptions: "orders.*" and "audit.>" (fan-out) and "jobs.*" in queue
group "workers".

Prints JSON lines: {"type":"ready"} once everything is subscribed, one
{"type":"request"} per request and one {"type":"event"} per event (with the
envelope as received), the SDK's warnings as {"type":"log"}. Exits when stdin
closes.
"""

import argparse
import asyncio
import time

from openagentio import (
    AgentUnavailableError,
    Bus,
    InvalidRequestError,
    NATSDriver,
    WithAgentID,
    WithQueue,
    WithTenant,
    WithTransport,
)

from peer_common import elapsed_ms, emit, log_as_json_lines, stdin_reader


def parse_args():
    parser = argparse.ArgumentParser()
    parser.add_argument("nats_url")
    parser.add_argument("--agent", default="py-server")
    parser.add_argument("--tenant", default="")
    return parser.parse_args()


def failure(kind):
    if kind == "invalid":
        return InvalidRequestError("order_id is required")
    if kind == "unavailable":
        return AgentUnavailableError("inventory is down")
    if kind == "timeout":
        return asyncio.TimeoutError("inventory did not answer in time")
    return RuntimeError("unexpected failure in the python handler")


def seen(target, env):
    emit(type="request", target=target, envelope=env.to_dict())
    return env.payload_json() or {}


async def main():
    args = parse_args()
    log_as_json_lines()
    transport = NATSDriver(url=args.nats_url, name=args.agent)
    options = [WithAgentID(args.agent), WithTransport(transport)]
    if args.tenant:
        options.append(WithTenant(args.tenant))
    bus = Bus.new(*options)
    await bus.connect()

    async def echo(env):
        payload = seen("py.echo", env)
        return {"echoed": payload, "by": args.agent}

    async def identity(env):
        return seen("py.identity", env)

    async def fail(env):
        raise failure(seen("py.fail", env).get("kind"))

    async def slow(env):
        payload = seen("py.slow", env)
        start = time.monotonic()
        await asyncio.sleep(payload.get("ms", 1000) / 1000)
        emit(type="slow_done", request_id=env.event_id,
             elapsed_ms=elapsed_ms(start))
        return {"slept_ms": payload.get("ms", 1000)}

    async def big(env):
        return "x" * seen("py.big", env).get("bytes", 0)

    async def words(env, writer):
        payload = seen("py.words", env)
        await writer.started({"meta": {"agent": args.agent, "model": "words"}})
        if "count" in payload:
            parts = ["w%d " % i for i in range(payload["count"])]
        else:
            text = payload.get("text", "")
            parts = [w + " " for w in text.split(" ")]
            parts[-1] = parts[-1][:-1]
        for part in parts:
            await writer.delta({"delta": part})
        await writer.final({"result": {"words": len(parts)}})

    async def fail_stream(env, writer):
        payload = seen("py.fail_stream", env)
        await writer.started({"meta": {"agent": args.agent}})
        await writer.delta({"delta": "partial "})
        raise failure(payload.get("kind"))

    async def ticker(env, writer):
        payload = seen("py.ticker", env)
        count = payload.get("count", 10)
        interval = payload.get("interval_ms", 50) / 1000
        start = time.monotonic()
        sent = 0
        try:
            await writer.started({"meta": {"agent": args.agent}})
            for i in range(count):
                await writer.delta({"delta": "t%d " % i})
                sent += 1
                await asyncio.sleep(interval)
            await writer.final({"result": {"sent": sent}})
        except asyncio.CancelledError:
            emit(type="ticker_cancelled", request_id=env.event_id, sent=sent)
            raise
        emit(type="ticker_done", request_id=env.event_id, sent=sent,
             elapsed_ms=elapsed_ms(start))

    def on_event(name):
        async def handler(env):
            emit(type="event", sub=name, envelope=env.to_dict())
        return handler

    await bus.handle_invoke("py.echo", echo)
    await bus.handle_invoke("py.identity", identity)
    await bus.handle_invoke("py.fail", fail)
    await bus.handle_invoke("py.slow", slow)
    await bus.handle_invoke("py.big", big)
    await bus.handle_stream("py.words", words)
    await bus.handle_stream("py.fail_stream", fail_stream)
    await bus.handle_stream("py.ticker", ticker)
    await bus.subscribe("orders.*", on_event("orders.*"))
    await bus.subscribe("audit.>", on_event("audit.>"))
    await bus.subscribe("jobs.*", on_event("jobs.*"), WithQueue("workers"))
    await transport.flush()
    emit(type="ready", agent=args.agent, tenant=args.tenant)

    reader = await stdin_reader()
    while await reader.readline():
        pass
    await bus.close()


if __name__ == "__main__":
    asyncio.run(main())
