// The Go responder of the interop tests: upstream handlers as a Go user writes them.
//
//	responder NATS_URL [--agent go-server] [--tenant T] [--queue Q] [--sub EVENT_TYPE[@QUEUE]]...
//
// Invoke targets: go.echo (the request as read), go.text ({"text":"hello"}), go.scalar ("hello"),
// go.result_other ({"result":1,"other":2}), go.result_only ({"result":1}), go.fail (an error), go.slow
// ({"ms":N}: sleeps, then answers; prints slow-done), go.nest (calls payload.target with the request's session and
// trace, and answers what came back). Stream targets: go.stream ({"n":N,"size":S}: started, N deltas, final;
// prints stream-done), go.stream_fail (started, two deltas, an error), go.stream_slow ({"n":N,"ms":M}: a delta
// every M ms; prints stream-done with how many it wrote). Every request and event is printed as a JSON line.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ModulationAI/openagentio/pkg/bus"
	"github.com/ModulationAI/openagentio/pkg/event"

	"openagentio-nest.test/gopeer/internal/peer"
)

type subs []string

func (s *subs) String() string     { return strings.Join(*s, ",") }
func (s *subs) Set(v string) error { *s = append(*s, v); return nil }

func main() {
	if len(os.Args) < 2 {
		peer.Fail("usage: responder NATS_URL [flags]")
	}
	url := os.Args[1]
	fs := flag.NewFlagSet("responder", flag.ExitOnError)
	agent := fs.String("agent", "go-server", "agent id")
	tenant := fs.String("tenant", "", "tenant")
	queue := fs.String("queue", "", "queue group of the invoke targets (default: the target)")
	var events subs
	fs.Var(&events, "sub", "event type to subscribe to, optionally @queue (repeatable)")
	_ = fs.Parse(os.Args[2:])

	b, driver := peer.Connect(url, *agent, *tenant)
	var hopts []bus.HandleOption
	if *queue != "" {
		hopts = append(hopts, bus.WithHandleQueue(*queue))
	}
	invoke := func(target string, h func(ctx context.Context, e *event.Envelope) (any, error)) {
		err := b.HandleInvoke(target, func(ctx context.Context, e *event.Envelope) (any, error) {
			peer.Print(map[string]any{"type": "request", "target": target, "agent": *agent, "envelope": peer.Wire(e)})
			return h(ctx, e)
		}, hopts...)
		if err != nil {
			peer.Fail("handle %s: %v", target, err)
		}
	}
	stream := func(target string, h bus.StreamHandler) {
		err := b.HandleStream(target, func(ctx context.Context, e *event.Envelope, w bus.StreamWriter) error {
			peer.Print(map[string]any{"type": "request", "target": target, "agent": *agent, "envelope": peer.Wire(e)})
			return h(ctx, e, w)
		}, hopts...)
		if err != nil {
			peer.Fail("handle %s: %v", target, err)
		}
	}

	invoke("go.echo", func(_ context.Context, e *event.Envelope) (any, error) {
		return map[string]any{"agent": *agent, "request": peer.Wire(e)}, nil
	})
	invoke("go.text", func(context.Context, *event.Envelope) (any, error) { return map[string]any{"text": "hello"}, nil })
	invoke("go.scalar", func(context.Context, *event.Envelope) (any, error) { return "hello", nil })
	invoke("go.result_other", func(context.Context, *event.Envelope) (any, error) {
		return map[string]any{"result": 1, "other": 2}, nil
	})
	invoke("go.result_only", func(context.Context, *event.Envelope) (any, error) { return map[string]any{"result": 1}, nil })
	invoke("go.fail", func(context.Context, *event.Envelope) (any, error) { return nil, errors.New("go handler failed") })
	invoke("go.slow", func(_ context.Context, e *event.Envelope) (any, error) {
		var p struct{ Ms int }
		_ = json.Unmarshal(e.Payload, &p)
		time.Sleep(time.Duration(p.Ms) * time.Millisecond)
		peer.Print(map[string]any{"type": "slow-done", "event_id": e.EventID})
		return map[string]any{"slept": p.Ms}, nil
	})
	invoke("go.nest", func(ctx context.Context, e *event.Envelope) (any, error) {
		var p struct{ Target string }
		_ = json.Unmarshal(e.Payload, &p)
		// The session and trace travel as a Go user passes them on: the request envelope's fields.
		req := event.NewRequest()
		req.SessionID, req.ConversationID, req.UserID, req.Channel = e.SessionID, e.ConversationID, e.UserID, e.Channel
		req.TraceID, req.SpanID, req.Traceparent, req.TenantID = e.TraceID, e.SpanID, e.Traceparent, e.TenantID
		req.Payload = json.RawMessage(`{"from":"go.nest"}`)
		reply, err := b.Invoke(ctx, p.Target, req, bus.WithTimeout(5*time.Second))
		if err != nil {
			return nil, err
		}
		return map[string]any{"reply": peer.Wire(reply)}, nil
	})

	stream("go.stream", func(_ context.Context, e *event.Envelope, w bus.StreamWriter) error {
		var p struct{ N, Size int }
		_ = json.Unmarshal(e.Payload, &p)
		if err := w.Started(map[string]any{"n": p.N}); err != nil {
			return err
		}
		pad := strings.Repeat("x", p.Size)
		for i := 0; i < p.N; i++ {
			if err := w.Delta(event.DeltaPayload{Delta: pad, Data: map[string]any{"i": i}}); err != nil {
				return err
			}
		}
		err := w.Final(map[string]any{"result": map[string]any{"count": p.N}})
		peer.Print(map[string]any{"type": "stream-done", "event_id": e.EventID, "written": p.N})
		return err
	})
	stream("go.stream_fail", func(_ context.Context, _ *event.Envelope, w bus.StreamWriter) error {
		_ = w.Started(nil)
		_ = w.Delta(event.DeltaPayload{Delta: "a"})
		_ = w.Delta(event.DeltaPayload{Delta: "b"})
		return errors.New("go stream failed")
	})
	stream("go.stream_slow", func(_ context.Context, e *event.Envelope, w bus.StreamWriter) error {
		var p struct{ N, Ms int }
		_ = json.Unmarshal(e.Payload, &p)
		_ = w.Started(nil)
		written := 0
		for i := 0; i < p.N; i++ {
			time.Sleep(time.Duration(p.Ms) * time.Millisecond)
			if err := w.Delta(event.DeltaPayload{Delta: "."}); err != nil {
				break
			}
			written++
		}
		err := w.Final(map[string]any{"result": map[string]any{"count": written}})
		peer.Print(map[string]any{"type": "stream-done", "event_id": e.EventID, "written": written})
		return err
	})

	for _, s := range events {
		eventType, q, _ := strings.Cut(s, "@")
		var sopts []bus.SubOption
		if q != "" {
			sopts = append(sopts, bus.WithQueue(q))
		}
		_, err := b.Subscribe(context.Background(), eventType, func(_ context.Context, e *event.Envelope) error {
			peer.Print(map[string]any{"type": "event", "sub": s, "agent": *agent, "envelope": peer.Wire(e)})
			return nil
		}, sopts...)
		if err != nil {
			peer.Fail("subscribe %s: %v", s, err)
		}
	}

	if err := driver.Flush(); err != nil {
		peer.Fail("flush: %v", err)
	}
	peer.Print(map[string]any{"type": "ready", "agent": *agent})
	// Runs until stdin closes (the test ends it), then closes the bus.
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = b.Close()
}
