package main

import "testing"

func TestDefaultConfig(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if got := defaultConfig(getenv); got != "/etc/archivist/archivist.yml" {
		t.Errorf("without ARCHIVIST_CONFIG: %s", got)
	}
	env["ARCHIVIST_CONFIG"] = "/srv/quickstart.yml"
	if got := defaultConfig(getenv); got != "/srv/quickstart.yml" {
		t.Errorf("with ARCHIVIST_CONFIG: %s", got)
	}
}
