"""Benchmark peer: the upstream Python SDK (openagentio 0.3.0 from PyPI).

    python py_bench.py NATS_URL --role server
    python py_bench.py NATS_URL --role caller

Started by bench/suites/python-peer.ts (through test/support/python-peer.ts,
in the venv of scripts/install-python-peer.sh) on the bench's nats-server.

The server serves, with the SDK's Bus over its NATSDriver:
  pybench.echo     invoke: returns the decoded JSON payload as it is
  pybench.stream   stream: started, payload.n deltas {"delta": payload.delta
                   or "tok "}, final {"result": "done"} (the same frames our
                   bench stream handler sends)

The caller reads one JSON command per line on stdin, runs it to its end (one
at a time, nothing else runs meanwhile) and prints one
{"id": ..., "type": "done", ...} line:
  {"op": "seq", "target", "payload", "count", "cap_ms"}
      awaited invokes one after another; "samples_us": one latency per call
  {"op": "conc", "target", "payload", "concurrency", "ms", "warmup_ms"}
      `concurrency` asyncio tasks, each invoking back to back (closed loop)
      for `ms` after a warm-up of `warmup_ms`; "ops", "seconds", "cpu_us"
      (this process's CPU over the measured stretch)
  {"op": "stream", "target", "n"}
      one stream of n deltas read to its final frame; "deltas", "seconds"
A command that raises ends with "error" set instead. Both roles print
{"type": "ready"} once connected (and subscribed) and exit when stdin closes.
"""

import argparse
import asyncio
import json
import logging
import sys
import time

from openagentio import (
    Bus,
    NATSDriver,
    WithAgentID,
    WithTimeout,
    WithTransport,
)

DELTA = "agent.response.delta"
TIMEOUT_S = 30.0


def emit(**fields):
    print(json.dumps(fields, separators=(",", ":")), flush=True)


async def stdin_reader():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=16 * 1024 * 1024)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def serve(bus, transport):
    async def echo(env):
        return env.payload_json()

    async def stream(env, writer):
        payload = env.payload_json() or {}
        delta = {"delta": payload.get("delta", "tok ")}
        await writer.started()
        for _ in range(payload.get("n", 0)):
            await writer.delta(delta)
        await writer.final({"result": "done"})

    await bus.handle_invoke("pybench.echo", echo)
    await bus.handle_stream("pybench.stream", stream)
    await transport.flush()


async def seq(bus, cmd):
    target, payload = cmd["target"], cmd["payload"]
    timeout = WithTimeout(TIMEOUT_S)
    stop_at = time.monotonic() + cmd["cap_ms"] / 1000
    samples = []
    for i in range(cmd["count"]):
        t0 = time.perf_counter_ns()
        await bus.invoke(target, payload, timeout)
        samples.append((time.perf_counter_ns() - t0) / 1000)
        if i & 31 == 31 and time.monotonic() > stop_at:
            break
    return {"samples_us": [round(s, 1) for s in samples]}


async def conc(bus, cmd):
    target, payload = cmd["target"], cmd["payload"]
    timeout = WithTimeout(TIMEOUT_S)
    state = {"ops": 0, "until": 0.0}

    async def worker():
        while time.monotonic() < state["until"]:
            await bus.invoke(target, payload, timeout)
            state["ops"] += 1

    async def loop(ms):
        state["ops"] = 0
        state["until"] = time.monotonic() + ms / 1000
        await asyncio.gather(*(worker() for _ in range(cmd["concurrency"])))

    if cmd.get("warmup_ms"):
        await loop(cmd["warmup_ms"])
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    await loop(cmd["ms"])
    seconds = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    return {"ops": state["ops"], "seconds": seconds, "cpu_us": cpu * 1e6}


async def stream(bus, cmd):
    t0 = time.perf_counter()
    frames = await bus.stream_invoke(
        cmd["target"], {"n": cmd["n"]}, WithTimeout(TIMEOUT_S * 2))
    deltas = 0
    async for frame in frames:
        if frame.event_type == DELTA:
            deltas += 1
    return {"deltas": deltas, "seconds": time.perf_counter() - t0}


OPS = {"seq": seq, "conc": conc, "stream": stream}


async def call(bus):
    reader = await stdin_reader()
    while line := await reader.readline():
        if not line.strip():
            continue
        cmd = json.loads(line)
        try:
            result = await OPS[cmd["op"]](bus, cmd)
        except Exception as exc:  # noqa: BLE001 - reported to the bench
            result = {"error": "%s: %s" % (type(exc).__name__, exc)}
        emit(id=cmd["id"], type="done", op=cmd["op"], **result)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("nats_url")
    parser.add_argument("--role", choices=("server", "caller"), required=True)
    args = parser.parse_args()
    logging.getLogger("openagentio").setLevel(logging.ERROR)
    agent = "pybench-" + args.role
    transport = NATSDriver(url=args.nats_url, name=agent)
    bus = Bus.new(WithAgentID(agent), WithTransport(transport))
    await bus.connect()
    if args.role == "server":
        await serve(bus, transport)
        emit(type="ready", role=args.role)
        reader = await stdin_reader()
        while await reader.readline():
            pass
    else:
        emit(type="ready", role=args.role)
        await call(bus)
    await bus.close()


if __name__ == "__main__":
    asyncio.run(main())
