#!/usr/bin/env bash
# make test-systemd: the installed unit under a real systemd. Boots systemd as PID 1 in a
# container (systemd-nspawn) on a minimal Debian root made with mmdebstrap, installs the .deb
# from `make deb` there, runs the sandbox on the host's loopback and checks, in order:
#   1. the unit reaches active (running) with Type=notify;
#   2. the credential arrives through LoadCredential= (the original stays root-only);
#   3. a file dropped into the watch reaches the sandbox on the host;
#   4. a good reload applies (a second watch) and a bad one fails, keeping the old config;
#   5. the watchdog restarts a daemon that stops answering (SIGSTOP);
#   6. systemctl stop ends it cleanly (inactive, exit status 0, "archivist stopped").
# systemd/README.md says how to run it. Needs root. Every wait is bounded, and the container,
# the sandbox and the scratch folder are removed on every exit.
#
# Environment: ARCHIVIST_SYSTEMD_INSTALL=make installs with `make install DESTDIR=<root>
# PREFIX=/usr` instead of the .deb; ARCHIVIST_SYSTEMD_CACHE is the folder that keeps the
# minimal root between runs (default var/test-systemd); ARCHIVIST_SYSTEMD_KEEP=1 keeps the
# scratch folder (logs, the container's journal) for a look afterwards.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
MAKE=${MAKE:-make}
GO=${GO:-go}
install_mode=${ARCHIVIST_SYSTEMD_INSTALL:-deb}
cache=${ARCHIVIST_SYSTEMD_CACHE:-$repo/var/test-systemd}
started=$(date +%s)
machine="archivist-test-$$"
# The packages of the root: systemd as init, procps for the unit's /bin/kill (the package
# depends on it; dpkg -i checks that), nothing that starts other daemons.
root_packages="systemd,systemd-sysv,procps"

say() { printf 'test-systemd: %s\n' "$*"; }
fail() {
	printf 'test-systemd: FAIL: %s\n' "$*" >&2
	diagnose >&2 || true
	exit 1
}
passed=0
ok() {
	passed=$((passed + 1))
	printf 'ok %d - %s\n' "$passed" "$*"
}

[ "$(id -u)" = 0 ] || { echo "test-systemd: needs root (systemd-nspawn boots a container)" >&2; exit 1; }
for tool in systemd-nspawn mmdebstrap nsenter; do
	command -v "$tool" >/dev/null || { echo "test-systemd: $tool missing (bash .ci/install-packages systemd-container mmdebstrap)" >&2; exit 1; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/archivist-systemd.XXXXXX")
root="$work/root"
nspawn_pid=""
leader=""
sandbox_pid=""
inotify_saved=""

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$leader" ] && kill -0 "$leader" 2>/dev/null; then
		in_ct systemctl poweroff >/dev/null 2>&1 || true
	fi
	if [ -n "$nspawn_pid" ]; then
		# nspawn ends once the container powered off; SIGTERM asks it to shut the container
		# down (SIGRTMIN+3 to its systemd), SIGKILL is the last resort.
		wait_gone "$nspawn_pid" 30 || { kill -TERM "$nspawn_pid" 2>/dev/null || true; wait_gone "$nspawn_pid" 15; } ||
			kill -KILL "$nspawn_pid" 2>/dev/null || true
		wait "$nspawn_pid" 2>/dev/null || true
	fi
	if [ -n "$sandbox_pid" ]; then
		kill -TERM "$sandbox_pid" 2>/dev/null || true
		wait_gone "$sandbox_pid" 15 || kill -KILL "$sandbox_pid" 2>/dev/null || true
		wait "$sandbox_pid" 2>/dev/null || true
	fi
	[ -z "$inotify_saved" ] || sysctl -q -w fs.inotify.max_user_instances="$inotify_saved" || true
	rm -rf "/run/systemd/nspawn/propagate/$machine"
	if [ "${ARCHIVIST_SYSTEMD_KEEP:-}" = 1 ]; then
		say "kept $work"
	else
		rm -rf --one-file-system "$work"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'say "interrupted; cleaning up"; exit 130' INT
trap 'say "terminated; cleaning up"; exit 143' TERM

# wait_gone PID SECONDS: true once PID ended within SECONDS.
wait_gone() {
	local deadline=$((SECONDS + $2))
	while kill -0 "$1" 2>/dev/null; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.2
	done
}

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND until it succeeds, fails after SECONDS.
wait_for() {
	local limit=$1 what=$2
	local deadline=$((SECONDS + limit))
	shift 2
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -lt "$deadline" ] || fail "timed out after ${limit}s waiting for: $what"
		sleep 0.3
	done
}

# in_ct COMMAND...: runs COMMAND inside the booted container (all its namespaces) as root,
# with a clean environment and a bound run time.
in_ct() {
	timeout 120 nsenter --target "$leader" --all -- /usr/bin/env -i \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		SYSTEMD_PAGER= SYSTEMD_COLORS=0 "$@"
}

prop() { in_ct systemctl show -p "$1" --value archivist.service; }

# journal_has TEXT [MATCH...]: the container's journal of the unit (or of MATCH) has TEXT.
# Read whole before grep: with pipefail, grep -q ending early would fail journalctl.
journal_has() {
	local text=$1 log
	shift
	[ $# -gt 0 ] || set -- -u archivist.service
	log=$(in_ct journalctl --no-pager -o cat "$@") || return 1
	grep -qF -- "$text" <<<"$log"
}

diagnose() {
	if [ -z "$leader" ] || ! kill -0 "$leader" 2>/dev/null; then
		[ ! -s "$work/nspawn.log" ] || tail -n 30 "$work/nspawn.log"
		return 0
	fi
	echo "--- systemctl status archivist"
	in_ct systemctl status --no-pager --lines=0 archivist.service || true
	echo "--- journalctl -u archivist (last 40)"
	in_ct journalctl --no-pager -o short-precise -n 40 -u archivist.service || true
	[ -s "$work/sandbox.log" ] && { echo "--- sandbox log"; tail -n 20 "$work/sandbox.log"; }
	return 0
}

# --- the minimal root, cached between runs --------------------------------------------------

# The host's Debian sources, so the root comes from the mirror this machine is configured for.
debian_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -qE '^[[:space:]]*(deb |Types:.*deb)' "$f" && grep -qiE 'debian|ubuntu' "$f" && echo "$f"
	done
	return 0
}

make_root_tar() {
	local suite sources key tar
	# shellcheck disable=SC1091 # the host's, read at run time
	suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[ -n "$suite" ] || fail "no VERSION_CODENAME in /etc/os-release: this test builds its root from the host's Debian suite"
	mapfile -t sources < <(debian_sources)
	[ ${#sources[@]} -gt 0 ] || fail "no Debian apt sources in /etc/apt to build the container's root from"
	key=$( (echo "$suite $root_packages"; cat "${sources[@]}") | sha256sum | cut -c1-12)
	tar="$cache/root-$suite-$key.tar"
	if [ ! -s "$tar" ]; then
		mkdir -p "$cache"
		say "building the container's root ($suite, $root_packages) into $tar"  >&2
		timeout 900 mmdebstrap --quiet --variant=minbase --include="$root_packages" --mode=root \
			"$suite" "$tar.part.tar" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1 ||
			{ tail -n 20 "$work/mmdebstrap.log" >&2; rm -rf "$tar.part.tar"; fail "mmdebstrap could not build the root"; }
		mv "$tar.part.tar" "$tar"
	fi
	echo "$tar"
}

# mask UNIT...: the root's systemd never starts these.
mask() {
	local u
	for u in "$@"; do ln -sfn /dev/null "$root/etc/systemd/system/$u"; done
}

prepare_root() {
	local tar timers
	tar=$(make_root_tar)
	mkdir -p "$root"
	tar -C "$root" -xf "$tar" || fail "could not unpack $tar (delete it to build it again)"
	echo "$machine" >"$root/etc/hostname"
	# Nothing but the test's own traffic: no apt or other timers, no network daemons, no
	# logins. The container shares the host's network, so it must not configure it.
	mapfile -t timers < <(cd "$root" && find lib/systemd/system usr/lib/systemd/system etc/systemd/system \
		-maxdepth 1 -name '*.timer' -printf '%f\n' 2>/dev/null | sort -u)
	mask "${timers[@]}" systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service \
		systemd-timesyncd.service systemd-resolved.service getty.target console-getty.service \
		systemd-logind.service e2scrub_reap.service
	install_archivist
}

install_archivist() {
	if [ "$install_mode" = make ]; then
		"$MAKE" --no-print-directory install GO="$GO" DESTDIR="$root" PREFIX=/usr >"$work/install.log" 2>&1 ||
			{ cat "$work/install.log" >&2; fail "make install DESTDIR=<root> failed"; }
		# systemd-sysusers.service creates the user at boot, from the installed entry.
		host_bin="$repo/bin/archivist"
		return
	fi
	"$MAKE" --no-print-directory deb GO="$GO" DEB_DIR="$work/dist" DEB_BINARY="$work/archivist" >"$work/deb.log" 2>&1 ||
		{ cat "$work/deb.log" >&2; fail "make deb failed"; }
	local deb
	deb=$(ls "$work"/dist/archivist_*.deb)
	# dpkg and the postinst run inside the (not yet booted) root, as on a real machine.
	timeout 120 systemd-nspawn --quiet --settings=no --register=no --keep-unit --private-network \
		--directory="$root" --machine="$machine" --bind-ro="$deb:/tmp/archivist.deb" dpkg -i /tmp/archivist.deb >"$work/dpkg.log" 2>&1 ||
		{ cat "$work/dpkg.log" >&2; fail "dpkg -i $(basename "$deb") in the container's root failed"; }
	grep -q '^archivist:' "$root/etc/passwd" || fail "the package's postinst created no archivist user"
	host_bin="$work/archivist" # the package's static binary runs the sandbox
}

# --- the sandbox on the host's loopback -----------------------------------------------------

start_sandbox() {
	local port
	mkdir -p "$work/sandbox"
	for _ in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 40000))
		"$host_bin" sandbox --listen "127.0.0.1:$port" --dir "$work/sandbox" \
			--credentials-file "$work/sandbox.credentials" --conversation-type systemd-test \
			>"$work/sandbox.log" 2>&1 &
		sandbox_pid=$!
		local deadline=$((SECONDS + 15))
		while kill -0 "$sandbox_pid" 2>/dev/null; do
			if "$host_bin" sandbox ls --url "http://127.0.0.1:$port" >/dev/null 2>&1; then
				sandbox_url="http://127.0.0.1:$port"
				return
			fi
			[ "$SECONDS" -lt "$deadline" ] || fail "the sandbox did not answer on 127.0.0.1:$port"
			sleep 0.2
		done
		wait "$sandbox_pid" 2>/dev/null || true
		sandbox_pid=""
		grep -q 'address already in use' "$work/sandbox.log" || { cat "$work/sandbox.log" >&2; fail "the sandbox did not start"; }
	done
	fail "no free loopback port for the sandbox after 5 tries"
}

# in_sandbox SHA256: true once the sandbox on the host stored a file with that content.
in_sandbox() {
	local listing
	listing=$("$host_bin" sandbox ls --url "$sandbox_url" --json) || return 1
	grep -q "\"sha256\": *\"$1\"" <<<"$listing"
}

# drop WATCH NAME: writes a file with unique content into the container's drop folder and
# prints its SHA-256. Written outside the watches and renamed in, so the watcher never sees
# it half done.
drop() {
	local dir="$root/srv/drop/$1" f
	f="$root/srv/drop/.staging/$2"
	printf 'archivist systemd test %s %s %s\n' "$machine" "$2" "$(date +%s%N)" >"$f"
	chmod 0644 "$f"
	mv "$f" "$dir/$2"
	sha256sum "$dir/$2" | cut -d' ' -f1
}

# --- the configuration in the container -----------------------------------------------------

# write_config WATCH...: /etc/archivist/archivist.yml with these watches (each /srv/drop/WATCH).
write_config() {
	local w
	{
		cat <<-EOF
			# Written by systemd/test-systemd.sh.
			journal: /var/lib/archivist/journal.db
			workers: 2
			shutdown_timeout: 10s
			globalrelay:
			  url: $sandbox_url/v2
			  token_url: $sandbox_url/oauth2/token
			  credentials_file: /etc/archivist/globalrelay.credentials
			  conversation_type: systemd-test
			retry:
			  min_delay: 500ms
			  max_delay: 5s
			watches:
		EOF
		for w in "$@"; do
			printf '  - name: %s\n    path: /srv/drop/%s\n    settle: 1s\n' "$w" "$w"
			printf '    sender: {name: "systemd test", email: "archive@example.com"}\n'
		done
	} >"$root/etc/archivist/archivist.yml.new"
	chmod 0644 "$root/etc/archivist/archivist.yml.new"
	mv "$root/etc/archivist/archivist.yml.new" "$root/etc/archivist/archivist.yml"
}

configure() {
	local secret
	secret=$(printf 'systemd-test:%s' "$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')" | base64 -w0)
	printf '%s\n' "$secret" >"$work/sandbox.credentials"
	chmod 0600 "$work/sandbox.credentials"
	start_sandbox
	# The secret: root-only, as systemd/README.md asks. The daemon (User=archivist) cannot read
	# this file; it gets systemd's copy in $CREDENTIALS_DIRECTORY.
	install -m 0600 -o root -g root "$work/sandbox.credentials" "$root/etc/archivist/globalrelay.credentials"
	install -d -m 0755 "$root/srv/drop/one" "$root/srv/drop/two" "$root/srv/drop/.staging"
	write_config one
	# The one change to the unit for the test: a short watchdog, so check 5 takes seconds.
	install -d -m 0755 "$root/etc/systemd/system/archivist.service.d"
	printf '[Service]\nWatchdogSec=5s\n' >"$root/etc/systemd/system/archivist.service.d/test-watchdog.conf"
}

# --- booting --------------------------------------------------------------------------------

system_up() {
	local state
	state=$(in_ct systemctl is-system-running 2>/dev/null) || true
	[ "$state" = running ] || [ "$state" = degraded ]
}

boot() {
	local attempt
	for attempt in 1 2; do
		systemd-nspawn --quiet --settings=no --register=no --keep-unit --private-users=no \
			--link-journal=no --timezone=off --resolv-conf=off --console=read-only \
			--directory="$root" --machine="$machine" --boot </dev/null >"$work/nspawn.log" 2>&1 &
		nspawn_pid=$!
		local deadline=$((SECONDS + 60))
		leader=""
		while [ "$SECONDS" -lt "$deadline" ] && kill -0 "$nspawn_pid" 2>/dev/null; do
			[ -n "$leader" ] || leader=$(pgrep -P "$nspawn_pid" | head -n1) || true
			if [ -n "$leader" ] && system_up; then
				return
			fi
			sleep 0.3
		done
		say "boot $attempt stalled or failed: $(tail -n 5 "$work/nspawn.log" | tr '\n' ' ')"
		[ -z "$leader" ] || in_ct systemctl --no-pager --failed >&2 || true
		kill -TERM "$nspawn_pid" 2>/dev/null || true
		wait_gone "$nspawn_pid" 20 || kill -KILL "$nspawn_pid" 2>/dev/null || true
		wait "$nspawn_pid" 2>/dev/null || true
		nspawn_pid="" leader=""
		rm -rf "/run/systemd/nspawn/propagate/$machine"
	done
	fail "systemd did not boot in the container twice in a row"
}

# --- the checks -----------------------------------------------------------------------------

check_started() {
	# Enabled as systemd/README.md says; also keeps systemd from unloading the stopped unit
	# (and its exit status) in check 7.
	in_ct systemctl enable --now archivist.service >"$work/enable.log" 2>&1 ||
		{ cat "$work/enable.log" >&2; fail "systemctl enable --now archivist failed"; }
	local status
	status=$(in_ct systemctl status --no-pager --lines=0 archivist.service) || true
	grep -q 'Active: active (running)' <<<"$status" || fail "not active (running) after start: $status"
	[ "$(prop Type)" = notify ] || fail "Type=$(prop Type), want notify"
	[ "$(prop WatchdogUSec)" = 5s ] || fail "WatchdogUSec=$(prop WatchdogUSec): the test drop-in did not apply"
	ok "active (running) with Type=notify; status line: $(prop StatusText)"
}

check_credential() {
	local main env
	main=$(prop MainPID)
	env=$(in_ct sh -c "tr '\\0' '\\n' </proc/$main/environ")
	grep -qx 'CREDENTIALS_DIRECTORY=/run/credentials/archivist.service' <<<"$env" ||
		fail "the daemon's environment has no CREDENTIALS_DIRECTORY=/run/credentials/archivist.service"
	in_ct cat /run/credentials/archivist.service/globalrelay.credentials | cmp -s - "$work/sandbox.credentials" ||
		fail "/run/credentials/archivist.service/globalrelay.credentials is not the credential"
	if in_ct setpriv --reuid=archivist --regid=archivist --clear-groups cat /etc/archivist/globalrelay.credentials >/dev/null 2>&1; then
		fail "the archivist user can read /etc/archivist/globalrelay.credentials: the check proves nothing"
	fi
	ok "LoadCredential: \$CREDENTIALS_DIRECTORY/globalrelay.credentials holds the secret; the root-only original is unreadable to archivist"
}

check_archived() {
	local sum
	sum=$(drop one first.txt)
	wait_for 60 "one/first.txt in the sandbox at $sandbox_url" in_sandbox "$sum"
	ok "one/first.txt reached the sandbox on the host ($sandbox_url), so the credential authenticated"
}

status_has_path() {
	local status
	status=$(in_ct archivist status --config /etc/archivist/archivist.yml) || return 1
	grep -qF -- "$1" <<<"$status"
}

check_reload() {
	local main sum
	main=$(prop MainPID)
	write_config one two
	in_ct systemctl reload archivist.service || fail "systemctl reload with a good configuration failed"
	wait_for 20 "archivist status to list /srv/drop/two" status_has_path /srv/drop/two
	sum=$(drop two second.txt)
	wait_for 60 "two/second.txt in the sandbox" in_sandbox "$sum"
	[ "$(prop MainPID)" = "$main" ] || fail "the good reload restarted the daemon"
	ok "good reload: systemctl reload rc 0, watch two in archivist status, two/second.txt archived, same PID $main"

	cp "$root/etc/archivist/archivist.yml" "$work/good.yml"
	sed -i 's/settle: 1s/settle: soon/' "$root/etc/archivist/archivist.yml"
	local rc=0
	in_ct systemctl reload archivist.service >"$work/bad-reload.log" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "systemctl reload with a broken configuration exited 0"
	[ "$(prop ActiveState)/$(prop SubState)" = active/running ] || fail "the unit is $(prop ActiveState)/$(prop SubState) after the bad reload"
	[ "$(prop MainPID)" = "$main" ] || fail "the bad reload replaced the daemon"
	journal_has 'invalid duration "soon"' ||
		fail "the journal does not say why the reload failed"
	sum=$(drop two third.txt)
	wait_for 60 "two/third.txt in the sandbox (the old configuration still running)" in_sandbox "$sum"
	cp "$work/good.yml" "$root/etc/archivist/archivist.yml"
	ok "bad reload: systemctl reload rc $rc (check-config: invalid duration), still active (running) as PID $main, two/third.txt archived"
}

restarted() {
	[ "$(prop NRestarts)" -gt "$1" ] && [ "$(prop MainPID)" != "$2" ] && [ "$(prop MainPID)" != 0 ] &&
		[ "$(prop ActiveState)/$(prop SubState)" = active/running ]
}

check_watchdog() {
	local main restarts sum
	main=$(prop MainPID)
	restarts=$(prop NRestarts)
	in_ct kill -STOP "$main"
	# WatchdogSec=5s, then the abort and RestartSec=5s.
	wait_for 60 "a restart after SIGSTOP of PID $main" restarted "$restarts" "$main"
	journal_has 'Watchdog timeout' ||
		fail "no \"Watchdog timeout\" in the journal"
	sum=$(drop one fourth.txt)
	wait_for 60 "one/fourth.txt in the sandbox after the restart" in_sandbox "$sum"
	ok "watchdog: PID $main stopped, \"Watchdog timeout\", restarted as PID $(prop MainPID) (NRestarts $(prop NRestarts)), one/fourth.txt archived"
}

check_stop() {
	local invocation
	invocation=$(prop InvocationID)
	in_ct systemctl stop archivist.service || fail "systemctl stop archivist failed"
	[ "$(prop ActiveState)" = inactive ] || fail "ActiveState=$(prop ActiveState) after stop, want inactive"
	[ "$(prop Result)" = success ] || fail "Result=$(prop Result) after stop, want success"
	[ "$(prop ExecMainCode)/$(prop ExecMainStatus)" = 1/0 ] || fail "ExecMainCode/Status=$(prop ExecMainCode)/$(prop ExecMainStatus), want exited with 0"
	journal_has 'archivist stopped' "_SYSTEMD_INVOCATION_ID=$invocation" ||
		fail "the daemon did not log \"archivist stopped\""
	journal_has 'Deactivated successfully' "INVOCATION_ID=$invocation" ||
		fail "systemd did not log \"Deactivated successfully\" for the stop"
	ok "systemctl stop: inactive, Result=success, exit status 0, \"archivist stopped\" and \"Deactivated successfully\" logged"
}

say "scratch folder $work; installing with $install_mode"
if [ "$(sysctl -n fs.inotify.max_user_instances)" -lt 512 ]; then
	# systemd, journald and the daemon each take inotify instances; the kernel's default of
	# 128 per user is shared with every other root process on the host.
	inotify_saved=$(sysctl -n fs.inotify.max_user_instances)
	sysctl -q -w fs.inotify.max_user_instances=512
fi
prepare_root
configure
boot
say "systemd $(in_ct systemctl --version | head -n1 | cut -d' ' -f2) booted in $machine; sandbox on $sandbox_url"
check_started
check_credential
check_archived
check_reload
check_watchdog
check_stop
say "PASS: $passed checks in $(($(date +%s) - started))s"
