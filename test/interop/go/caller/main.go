// The Go caller of the interop tests: upstream Invoke, StreamInvoke, Publish and Subscribe as a Go user calls them,
// driven by one JSON command per stdin line; it prints what it got as JSON lines (each with the command's id).
//
//	caller NATS_URL [--agent go-caller] [--tenant T]
//
// Commands: {"id","op":"invoke","target","payload",context fields,"timeout_ms"};
// {"id","op":"stream", same, "sleep_every":N,"sleep_ms":M,"frames":true|false,"stop_after":K};
// {"id","op":"publish","event_type","payload", context fields}; {"id","op":"subscribe","event_type","queue"}.
// A command ends with a {"type":"done"} line (ok, and the reply, the frame summary or the error).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"os"
	"sync"
	"time"

	"github.com/ModulationAI/openagentio/pkg/bus"
	"github.com/ModulationAI/openagentio/pkg/event"

	"openagentio-nest.test/gopeer/internal/peer"
)

type command struct {
	ID             string          `json:"id"`
	Op             string          `json:"op"`
	Target         string          `json:"target"`
	EventType      string          `json:"event_type"`
	Queue          string          `json:"queue"`
	Payload        json.RawMessage `json:"payload"`
	SessionID      string          `json:"session_id"`
	ConversationID string          `json:"conversation_id"`
	TenantID       string          `json:"tenant_id"`
	UserID         string          `json:"user_id"`
	Channel        string          `json:"channel"`
	TraceID        string          `json:"trace_id"`
	SpanID         string          `json:"span_id"`
	Traceparent    string          `json:"traceparent"`
	TimeoutMs      int             `json:"timeout_ms"`
	SleepEvery     int             `json:"sleep_every"`
	SleepMs        int             `json:"sleep_ms"`
	Frames         bool            `json:"frames"`
	StopAfter      int             `json:"stop_after"`
}

func (c *command) fill(e *event.Envelope) {
	e.SessionID, e.ConversationID, e.TenantID, e.UserID, e.Channel = c.SessionID, c.ConversationID, c.TenantID, c.UserID, c.Channel
	e.TraceID, e.SpanID, e.Traceparent = c.TraceID, c.SpanID, c.Traceparent
	if len(c.Payload) > 0 && string(c.Payload) != "null" {
		e.Payload = c.Payload
	}
}

func main() {
	if len(os.Args) < 2 {
		peer.Fail("usage: caller NATS_URL [flags]")
	}
	url := os.Args[1]
	fs := flag.NewFlagSet("caller", flag.ExitOnError)
	agent := fs.String("agent", "go-caller", "agent id")
	tenant := fs.String("tenant", "", "tenant")
	_ = fs.Parse(os.Args[2:])
	b, driver := peer.Connect(url, *agent, *tenant)

	var wg sync.WaitGroup
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	peer.Print(map[string]any{"type": "ready", "agent": *agent})
	for in.Scan() {
		var c command
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			peer.Print(map[string]any{"type": "bad-command", "error": err.Error()})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(b, driver, &c)
		}()
	}
	wg.Wait()
	_ = b.Close()
}

func timeout(c *command) time.Duration {
	if c.TimeoutMs > 0 {
		return time.Duration(c.TimeoutMs) * time.Millisecond
	}
	return 10 * time.Second
}

func done(c *command, fields map[string]any) {
	fields["type"], fields["id"] = "done", c.ID
	peer.Print(fields)
}

func run(b bus.Bus, driver interface{ Flush() error }, c *command) {
	ctx := context.Background()
	switch c.Op {
	case "invoke":
		req := event.NewRequest()
		c.fill(req)
		start := time.Now()
		reply, err := b.Invoke(ctx, c.Target, req, bus.WithTimeout(timeout(c)))
		if err != nil {
			done(c, map[string]any{"ok": false, "error": err.Error(), "ms": time.Since(start).Milliseconds()})
			return
		}
		done(c, map[string]any{"ok": true, "reply": peer.Wire(reply)})
	case "stream":
		req := event.NewRequest()
		c.fill(req)
		s, err := b.StreamInvoke(ctx, c.Target, req, bus.WithTimeout(timeout(c)))
		if err != nil {
			done(c, map[string]any{"ok": false, "error": err.Error()})
			return
		}
		defer s.Close()
		count, deltas := 0, 0
		types := map[string]int{}
		var last *event.Envelope
		var seqs []uint64
		inOrder := true
		for e, err := range s.Events() {
			if err != nil {
				done(c, map[string]any{"ok": false, "error": err.Error(), "frames": count})
				return
			}
			if e.Seq != uint64(count) {
				inOrder = false
			}
			count++
			types[e.EventType]++
			if e.EventType == event.ResponseDelta {
				deltas++
			}
			if c.Frames {
				peer.Print(map[string]any{"type": "frame", "id": c.ID, "envelope": peer.Wire(e)})
			}
			if len(seqs) < 8 {
				seqs = append(seqs, e.Seq)
			}
			last = e
			if c.SleepEvery > 0 && count%c.SleepEvery == 0 {
				time.Sleep(time.Duration(c.SleepMs) * time.Millisecond)
			}
			if c.StopAfter > 0 && count >= c.StopAfter {
				done(c, map[string]any{"ok": true, "stopped": true, "frames": count})
				return
			}
		}
		out := map[string]any{"ok": last != nil && last.EventType == event.ResponseFinal, "frames": count, "deltas": deltas, "types": types, "in_order": inOrder}
		if last != nil {
			out["last"] = peer.Wire(last)
		}
		done(c, out)
	case "publish":
		e := event.NewEvent(c.EventType)
		c.fill(e)
		err := b.Publish(ctx, e)
		if err != nil {
			done(c, map[string]any{"ok": false, "error": err.Error()})
			return
		}
		done(c, map[string]any{"ok": true, "event_id": e.EventID})
	case "subscribe":
		var opts []bus.SubOption
		if c.Queue != "" {
			opts = append(opts, bus.WithQueue(c.Queue))
		}
		_, err := b.Subscribe(ctx, c.EventType, func(_ context.Context, e *event.Envelope) error {
			peer.Print(map[string]any{"type": "event", "id": c.ID, "envelope": peer.Wire(e)})
			return nil
		}, opts...)
		if err == nil {
			err = driver.Flush()
		}
		if err != nil {
			done(c, map[string]any{"ok": false, "error": err.Error()})
			return
		}
		done(c, map[string]any{"ok": true})
	default:
		done(c, map[string]any{"ok": false, "error": "unknown op " + c.Op})
	}
}
