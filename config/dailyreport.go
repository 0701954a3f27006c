package config

import (
	"os"
	"time"

	"github.com/robfig/cron/v3"
)

// DailyReport configures the daily reconciliation report (off unless Folder is set): each day
// at Schedule, a reconciliation runs and the previous day's counts per watch and destination,
// with what is unexplained, are written to Folder, signed with SigningKey if set.
type DailyReport struct {
	Folder     string         `yaml:"folder"`      // where reconciliation-YYYY-MM-DD.json (and .sig) go
	Schedule   string         `yaml:"schedule"`    // cron; default "15 0 * * *" (00:15 for the day before)
	Timezone   string         `yaml:"timezone"`    // IANA zone days are counted in; default the machine's
	SigningKey string         `yaml:"signing_key"` // Ed25519 private key file (archivist keygen); optional
	Location   *time.Location `yaml:"-"`
}

func (d *DailyReport) resolve(dir string) {
	d.Folder = resolvePath(dir, d.Folder)
	d.SigningKey = resolvePath(dir, d.SigningKey)
}

func (d *DailyReport) validate(p *problems, key string) {
	if d.Folder == "" {
		if d.SigningKey != "" || d.Schedule != "" {
			p.add(key+".folder", "required when %s is configured", key)
		}
		return
	}
	if fi, err := os.Stat(d.Folder); err != nil || !fi.IsDir() {
		p.add(key+".folder", "%q: no such folder", d.Folder)
	}
	if d.Schedule == "" {
		d.Schedule = "15 0 * * *"
	}
	if _, err := cron.ParseStandard(d.Schedule); err != nil {
		p.add(key+".schedule", "%q is not a cron schedule: %v", d.Schedule, err)
	}
	d.Location = time.Local
	if d.Timezone != "" {
		loc, err := time.LoadLocation(d.Timezone)
		if err != nil {
			p.add(key+".timezone", "%q is not an IANA time zone: %v", d.Timezone, err)
		}
		d.Location = loc
	}
	if d.SigningKey != "" {
		readPrivateFile(p, key+".signing_key", d.SigningKey)
	}
}
