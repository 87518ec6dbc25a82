// Package peer holds what the peer programs share: connecting the upstream bus and printing JSON lines.
package peer

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/ModulationAI/openagentio/pkg/bus"
	"github.com/ModulationAI/openagentio/pkg/event"
	natstransport "github.com/ModulationAI/openagentio/pkg/transport/nats"
)

var outMu sync.Mutex

// Print writes one JSON line on stdout (the test reads them as they come).
func Print(line map[string]any) {
	data, err := json.Marshal(line)
	if err != nil {
		data, _ = json.Marshal(map[string]any{"type": "print-error", "error": err.Error()})
	}
	outMu.Lock()
	os.Stdout.Write(append(data, '\n'))
	outMu.Unlock()
}

// Fail prints an error and exits.
func Fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}

// Connect makes an upstream bus on the NATS server at url, as a Go user would; the driver is returned for Flush
// (a subscription is on the server once a flush after it returns, so "ready" lines are true).
func Connect(url, agent, tenant string) (bus.Bus, *natstransport.Driver) {
	driver := natstransport.New(natstransport.URL(url), natstransport.Name(agent))
	b, err := bus.New(bus.WithAgentID(agent), bus.WithTenant(tenant), bus.WithTransport(driver))
	if err != nil {
		Fail("connect %s: %v", url, err)
	}
	return b, driver
}

// Wire is an envelope as the peer read it, for the test to compare with what was sent.
func Wire(e *event.Envelope) map[string]any {
	var payload any
	if len(e.Payload) > 0 {
		_ = json.Unmarshal(e.Payload, &payload)
	}
	return map[string]any{
		"event_id": e.EventID, "event_type": e.EventType, "frame_type": e.FrameType,
		"session_id": e.SessionID, "conversation_id": e.ConversationID, "tenant_id": e.TenantID,
		"user_id": e.UserID, "channel": e.Channel, "trace_id": e.TraceID, "span_id": e.SpanID,
		"traceparent": e.Traceparent, "correlation_id": e.CorrelationID, "from": e.From, "to": e.To,
		"seq": e.Seq, "is_final": e.IsFinal, "payload": payload, "raw_payload": string(e.Payload),
		"metadata": e.Metadata,
	}
}
