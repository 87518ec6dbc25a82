// The Go peer of the bench (bench/suites/go-peer.ts), the same commands as bench/python/py_bench.py:
//
//	bench NATS_URL --role server   serves gobench.echo (the payload as it is) and gobench.stream (started,
//	                               payload.n deltas {"delta":"tok "}, final {"result":"done"})
//	bench NATS_URL --role caller   reads {"id","op":"seq"|"conc"|"stream",...} lines, runs each to its end alone and
//	                               prints one {"id","type":"done",...} line (samples_us; ops and seconds; deltas and
//	                               seconds; or error)
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ModulationAI/openagentio/pkg/bus"
	"github.com/ModulationAI/openagentio/pkg/event"

	"openagentio-nest.test/gopeer/internal/peer"
)

const callTimeout = 30 * time.Second

type command struct {
	ID          string          `json:"id"`
	Op          string          `json:"op"`
	Target      string          `json:"target"`
	Payload     json.RawMessage `json:"payload"`
	Count       int             `json:"count"`
	CapMs       int             `json:"cap_ms"`
	Concurrency int             `json:"concurrency"`
	Ms          int             `json:"ms"`
	WarmupMs    int             `json:"warmup_ms"`
	N           int             `json:"n"`
}

func main() {
	if len(os.Args) < 2 {
		peer.Fail("usage: bench NATS_URL --role server|caller")
	}
	fs := flag.NewFlagSet("bench", flag.ExitOnError)
	role := fs.String("role", "", "server or caller")
	_ = fs.Parse(os.Args[2:])
	b, driver := peer.Connect(os.Args[1], "gobench-"+*role, "")
	switch *role {
	case "server":
		serve(b)
		if err := driver.Flush(); err != nil {
			peer.Fail("flush: %v", err)
		}
		peer.Print(map[string]any{"type": "ready", "role": *role})
		_, _ = io.Copy(io.Discard, os.Stdin)
	case "caller":
		peer.Print(map[string]any{"type": "ready", "role": *role})
		in := bufio.NewScanner(os.Stdin)
		in.Buffer(make([]byte, 1<<20), 16<<20)
		for in.Scan() {
			var c command
			if err := json.Unmarshal(in.Bytes(), &c); err != nil {
				peer.Fail("bad command: %v", err)
			}
			out, err := run(b, &c)
			if err != nil {
				out = map[string]any{"error": err.Error()}
			}
			out["id"], out["type"], out["op"] = c.ID, "done", c.Op
			peer.Print(out)
		}
	default:
		peer.Fail("--role must be server or caller")
	}
	_ = b.Close()
}

func serve(b bus.Bus) {
	err := b.HandleInvoke("gobench.echo", func(_ context.Context, e *event.Envelope) (any, error) {
		return e.Payload, nil
	})
	if err == nil {
		err = b.HandleStream("gobench.stream", func(_ context.Context, e *event.Envelope, w bus.StreamWriter) error {
			var p struct{ N int }
			_ = json.Unmarshal(e.Payload, &p)
			if err := w.Started(nil); err != nil {
				return err
			}
			delta := event.DeltaPayload{Delta: "tok "}
			for i := 0; i < p.N; i++ {
				if err := w.Delta(delta); err != nil {
					return err
				}
			}
			return w.Final(map[string]any{"result": "done"})
		})
	}
	if err != nil {
		peer.Fail("serve: %v", err)
	}
}

func run(b bus.Bus, c *command) (map[string]any, error) {
	ctx := context.Background()
	invoke := func() error {
		_, err := b.Invoke(ctx, c.Target, c.Payload, bus.WithTimeout(callTimeout))
		return err
	}
	switch c.Op {
	case "seq":
		stopAt := time.Now().Add(time.Duration(c.CapMs) * time.Millisecond)
		samples := make([]float64, 0, c.Count)
		for i := 0; i < c.Count; i++ {
			t0 := time.Now()
			if err := invoke(); err != nil {
				return nil, err
			}
			samples = append(samples, float64(time.Since(t0).Nanoseconds())/1000)
			if i&31 == 31 && time.Now().After(stopAt) {
				break
			}
		}
		return map[string]any{"samples_us": samples}, nil
	case "conc":
		loop := func(ms int) (int64, time.Duration, error) {
			var ops atomic.Int64
			var firstErr atomic.Value
			until := time.Now().Add(time.Duration(ms) * time.Millisecond)
			t0 := time.Now()
			var wg sync.WaitGroup
			for w := 0; w < c.Concurrency; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(until) {
						if err := invoke(); err != nil {
							firstErr.CompareAndSwap(nil, err)
							return
						}
						ops.Add(1)
					}
				}()
			}
			wg.Wait()
			if err, _ := firstErr.Load().(error); err != nil {
				return 0, 0, err
			}
			return ops.Load(), time.Since(t0), nil
		}
		if c.WarmupMs > 0 {
			if _, _, err := loop(c.WarmupMs); err != nil {
				return nil, err
			}
		}
		ops, took, err := loop(c.Ms)
		if err != nil {
			return nil, err
		}
		return map[string]any{"ops": ops, "seconds": took.Seconds()}, nil
	case "stream":
		t0 := time.Now()
		s, err := b.StreamInvoke(ctx, c.Target, map[string]any{"n": c.N}, bus.WithTimeout(2*callTimeout))
		if err != nil {
			return nil, err
		}
		defer s.Close()
		deltas := 0
		for e, err := range s.Events() {
			if err != nil {
				return nil, err
			}
			if e.EventType == event.ResponseDelta {
				deltas++
			}
			if e.IsFinal {
				break
			}
		}
		return map[string]any{"deltas": deltas, "seconds": time.Since(t0).Seconds()}, nil
	}
	return nil, errors.New("unknown op " + c.Op)
}
