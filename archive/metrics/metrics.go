// Package metrics exposes archivist's Prometheus metrics: what the journal holds (files by
// state, queue sizes and age), what the pipeline did (requests by destination, operation and
// outcome, bytes uploaded, retries), the destinations' health and the last reconciliation.
//
// Figures the journal holds are read when Prometheus scrapes, so they are never stale and cost
// nothing in between. It does not serve HTTP itself: Handler is mounted on the control socket
// and, if configured, on a loopback TCP address.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/archivist-project/archivist/journal"
)

// Reconciliation is the part of a reconciliation summary exported as metrics.
type Reconciliation struct {
	Time                                                          time.Time
	OnDisk, Archived, Held, Pending, Stale, Unexplained, Vanished int
}

// Sources are read at scrape time.
type Sources struct {
	Journal *journal.DB
	// Up reports each destination's health (globalrelay and every forward destination).
	Up func() map[string]bool
	// JournalUp reports whether journal writes succeed.
	JournalUp func() bool
	// LastReconciliation returns the last summary, if any.
	LastReconciliation func() (Reconciliation, bool)
}

// Metrics holds the collectors.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	retries  *prometheus.CounterVec
}

// New registers every metric; src is read at scrape time.
func New(src Sources) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "archivist_request_duration_seconds",
			Help:    "Duration of remote requests by destination, operation (put, post, forward) and outcome (ok, transient, auth, permanent, canceled).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"destination", "operation", "outcome"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "archivist_sent_bytes_total",
			Help: "File bytes accepted by each destination.",
		}, []string{"destination"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "archivist_retries_total",
			Help: "Transient failures that scheduled a retry, by destination.",
		}, []string{"destination"}),
	}
	m.reg.MustRegister(m.requests, m.bytes, m.retries, &journalCollector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request records one remote request.
func (m *Metrics) Request(destination, operation, outcome string, d time.Duration) {
	m.requests.WithLabelValues(destination, operation, outcome).Observe(d.Seconds())
}

// Sent records file bytes a destination accepted.
func (m *Metrics) Sent(destination string, n int64) {
	m.bytes.WithLabelValues(destination).Add(float64(n))
}

// Retry records a transient failure that scheduled a retry.
func (m *Metrics) Retry(destination string) {
	m.retries.WithLabelValues(destination).Inc()
}

var (
	descFiles      = prometheus.NewDesc("archivist_files", "File versions in the journal by state.", []string{"state"}, nil)
	descQueue      = prometheus.NewDesc("archivist_queue_items", "Pending work items by lane (put, post, conv, loose, fwd/<destination>).", []string{"lane"}, nil)
	descQueueAge   = prometheus.NewDesc("archivist_queue_oldest_age_seconds", "Age of the oldest pending file (since it was discovered); 0 when nothing is pending.", nil, nil)
	descUp         = prometheus.NewDesc("archivist_destination_up", "1 when the destination answers, 0 while it is paused after failures.", []string{"destination"}, nil)
	descJournalUp  = prometheus.NewDesc("archivist_journal_up", "1 when journal writes succeed.", nil, nil)
	descQuarantine = prometheus.NewDesc("archivist_journal_quarantined_records", "Records taken out of the work because they cannot be decoded (see archivist journal check).", nil, nil)
	descUnresolved = prometheus.NewDesc("archivist_unresolved_participants", "Chat participants archived under a fallback address because neither the export nor the identity directory gave theirs (archivist identities unresolved lists them).", nil, nil)
	descReconTime  = prometheus.NewDesc("archivist_last_reconciliation_timestamp_seconds", "When the last reconciliation ran (Unix time).", nil, nil)
	descReconFiles = prometheus.NewDesc("archivist_last_reconciliation_files", "Files counted by the last reconciliation, by kind; unexplained > 0 needs attention.", []string{"kind"}, nil)
)

// journalCollector reads the journal and the callbacks when scraped.
type journalCollector struct{ src Sources }

func (c *journalCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descFiles, descQueue, descQueueAge, descUp, descJournalUp, descQuarantine, descUnresolved, descReconTime, descReconFiles} {
		ch <- d
	}
}

func (c *journalCollector) Collect(ch chan<- prometheus.Metric) {
	j := c.src.Journal
	if counts, err := j.Counts(); err == nil {
		for _, s := range journal.States {
			ch <- prometheus.MustNewConstMetric(descFiles, prometheus.GaugeValue, float64(counts[s]), string(s))
		}
	}
	var oldest time.Time
	if lanes, err := j.LaneCounts(); err == nil {
		for lane, n := range lanes {
			ch <- prometheus.MustNewConstMetric(descQueue, prometheus.GaugeValue, float64(n), lane)
			if it, ok, err := j.LookupFirstDue(lane); err == nil && ok && lane != journal.LaneLoose {
				if r, err := j.Get(it.ID); err == nil && (oldest.IsZero() || r.DiscoveredAt.Before(oldest)) {
					oldest = r.DiscoveredAt
				}
			}
		}
	}
	age := 0.0
	if !oldest.IsZero() {
		age = time.Since(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(descQueueAge, prometheus.GaugeValue, age)
	if c.src.Up != nil {
		for name, up := range c.src.Up() {
			ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, b2f(up), name)
		}
	}
	if n, err := j.QuarantineCount(); err == nil {
		ch <- prometheus.MustNewConstMetric(descQuarantine, prometheus.GaugeValue, float64(n))
	}
	if n, err := j.UnresolvedCount(); err == nil {
		ch <- prometheus.MustNewConstMetric(descUnresolved, prometheus.GaugeValue, float64(n))
	}
	if c.src.JournalUp != nil {
		ch <- prometheus.MustNewConstMetric(descJournalUp, prometheus.GaugeValue, b2f(c.src.JournalUp()))
	}
	if c.src.LastReconciliation != nil {
		if r, ok := c.src.LastReconciliation(); ok {
			ch <- prometheus.MustNewConstMetric(descReconTime, prometheus.GaugeValue, float64(r.Time.Unix()))
			for kind, n := range map[string]int{"on_disk": r.OnDisk, "archived": r.Archived, "held": r.Held, "pending": r.Pending,
				"stale": r.Stale, "unexplained": r.Unexplained, "vanished": r.Vanished} {
				ch <- prometheus.MustNewConstMetric(descReconFiles, prometheus.GaugeValue, float64(n), kind)
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
