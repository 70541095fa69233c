#!/usr/bin/env bash
# stack.sh: the local promoflow stack — Temporal dev server, MinIO and
# PostgreSQL — on loopback, with all state under one folder.
#
#   scripts/stack.sh up | down | status | env | build | stop NAME | start NAME
#
# Servers are built once from the Go module proxy into a cache under $HOME
# keyed by version; PostgreSQL comes from Debian's package. Every port and
# credential can be overridden from the environment (see `env` below);
# generated secrets live in $STACK_DIR/secrets.env (mode 600, git-ignored)
# and are never printed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
STACK_DIR=${PROMOFLOW_STACK_DIR:-$ROOT/.stack}
CACHE_DIR=${PROMOFLOW_CACHE_DIR:-$HOME/.cache/promoflow}

TEMPORAL_VERSION=${PROMOFLOW_TEMPORAL_CLI_VERSION:-v1.5.1}
MINIO_VERSION=${PROMOFLOW_MINIO_SERVER_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}
TEMPORAL_BIN=$CACHE_DIR/temporal-$TEMPORAL_VERSION/temporal
MINIO_BIN=$CACHE_DIR/minio-$MINIO_VERSION/minio

TEMPORAL_PORT=${PROMOFLOW_TEMPORAL_PORT:-7233}
TEMPORAL_UI_PORT=${PROMOFLOW_TEMPORAL_UI_PORT:-8233}
MINIO_PORT=${PROMOFLOW_MINIO_PORT:-9100}
MINIO_CONSOLE_PORT=${PROMOFLOW_MINIO_CONSOLE_PORT:-9101}
PG_PORT=${PROMOFLOW_PG_PORT:-55432}
PROMETHEUS_PORT=${PROMOFLOW_PROMETHEUS_PORT:-9190}
# The worker's /metrics that Prometheus scrapes (PROMOFLOW_METRICS_ADDR).
METRICS_ADDR=${PROMOFLOW_METRICS_ADDR:-127.0.0.1:9464}

log() { printf 'stack: %s\n' "$*" >&2; }
die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# --- builds -----------------------------------------------------------------

build_one() { # name module@version binary
	local name=$1 mod=$2 bin=$3
	if [[ -x $bin ]]; then
		return
	fi
	log "building $name ($mod) into $(dirname "$bin") — first time only, a few minutes"
	local tmp
	tmp=$(mktemp -d "$CACHE_DIR/.build-$name.XXXXXX")
	local start=$SECONDS
	if ! GOBIN=$tmp GOFLAGS=-mod=mod go install "$mod" >"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		rm -rf "$tmp"
		die "building $name failed (log above)"
	fi
	mkdir -p "$(dirname "$bin")"
	mv "$tmp/$(basename "$bin")" "$bin"
	rm -rf "$tmp" "$tmp.log"
	log "built $name in $((SECONDS - start)) s"
}

build() {
	mkdir -p "$CACHE_DIR"
	command -v go >/dev/null || die "go is not on PATH"
	# The two builds are independent; run them side by side.
	build_one temporal "github.com/temporalio/cli/cmd/temporal@$TEMPORAL_VERSION" "$TEMPORAL_BIN" &
	local t=$!
	build_one minio "github.com/minio/minio@$MINIO_VERSION" "$MINIO_BIN" &
	local m=$!
	local rc=0
	wait $t || rc=1
	wait $m || rc=1
	((rc == 0)) || die "server build failed"
}

pg_bindir() {
	local d
	for d in /usr/lib/postgresql/*/bin; do
		[[ -x $d/initdb ]] && { echo "$d"; return; }
	done
	return 1
}

ensure_postgres() {
	if pg_bindir >/dev/null; then
		return
	fi
	[[ $(id -u) -eq 0 ]] || die "PostgreSQL is not installed: run 'sudo apt-get install -y postgresql'"
	log "installing Debian's postgresql package"
	DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >/dev/null; } ||
		die "apt-get install postgresql failed"
}

# --- secrets and environment -------------------------------------------------

secret() { head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

load_secrets() {
	mkdir -p "$STACK_DIR"
	local f=$STACK_DIR/secrets.env
	(
		umask 077
		touch "$f"
		# Generate each secret once; keep the ones already there.
		local key
		for key in PROMOFLOW_MINIO_ROOT_PASSWORD PROMOFLOW_PG_SUPERUSER_PASSWORD PROMOFLOW_PG_PASSWORD \
			PROMOFLOW_MINIO_WORKER_PASSWORD PROMOFLOW_MINIO_SERVE_PASSWORD PROMOFLOW_API_TOKEN_ADMIN PROMOFLOW_API_TOKEN_READ; do
			grep -q "^$key=" "$f" || echo "$key=$(secret)" >>"$f"
		done
	)
	# Values already in the environment win over the generated ones.
	local line key
	while IFS= read -r line; do
		key=${line%%=*}
		if [[ -z ${!key:-} ]]; then
			export "$line"
		fi
	done <"$f"
	export PROMOFLOW_MINIO_ROOT_USER=${PROMOFLOW_MINIO_ROOT_USER:-promoflow-root}
	export PROMOFLOW_MINIO_WORKER_USER=${PROMOFLOW_MINIO_WORKER_USER:-promoflow-worker}
	export PROMOFLOW_MINIO_SERVE_USER=${PROMOFLOW_MINIO_SERVE_USER:-promoflow-serve}
}

write_env() {
	local f=$STACK_DIR/env
	(
		umask 077
		cat >"$f" <<EOF
# promoflow local stack — source this file: . .stack/env
export PROMOFLOW_TEMPORAL_ADDRESS=127.0.0.1:$TEMPORAL_PORT
export PROMOFLOW_TEMPORAL_NAMESPACE=default
export PROMOFLOW_TEMPORAL_UI=http://127.0.0.1:$TEMPORAL_UI_PORT
export PROMOFLOW_MINIO_ENDPOINT=127.0.0.1:$MINIO_PORT
export PROMOFLOW_MINIO_CONSOLE=http://127.0.0.1:$MINIO_CONSOLE_PORT
export PROMOFLOW_PROMETHEUS_URL=http://127.0.0.1:$PROMETHEUS_PORT
# Where a worker serves /metrics; the stack's Prometheus scrapes it.
export PROMOFLOW_METRICS_ADDR=$METRICS_ADDR
export PROMOFLOW_MINIO_ACCESS_KEY=$PROMOFLOW_MINIO_WORKER_USER
export PROMOFLOW_MINIO_SECRET_KEY=$PROMOFLOW_MINIO_WORKER_PASSWORD
# The scoring service's read-only MinIO user: run promoflow serve with
#   PROMOFLOW_MINIO_ACCESS_KEY=\$PROMOFLOW_MINIO_SERVE_ACCESS_KEY PROMOFLOW_MINIO_SECRET_KEY=\$PROMOFLOW_MINIO_SERVE_SECRET_KEY
export PROMOFLOW_MINIO_SERVE_ACCESS_KEY=$PROMOFLOW_MINIO_SERVE_USER
export PROMOFLOW_MINIO_SERVE_SECRET_KEY=$PROMOFLOW_MINIO_SERVE_PASSWORD
export PROMOFLOW_API_TOKENS=admin:$PROMOFLOW_API_TOKEN_ADMIN:admin,reader:$PROMOFLOW_API_TOKEN_READ:read
export PROMOFLOW_PG_URL=postgres://promoflow:$PROMOFLOW_PG_PASSWORD@127.0.0.1:$PG_PORT/promoflow?sslmode=disable
# Tests only: creates each test's own schema, owned by the app role.
export PROMOFLOW_PG_ADMIN_URL=postgres://postgres:$PROMOFLOW_PG_SUPERUSER_PASSWORD@127.0.0.1:$PG_PORT/promoflow?sslmode=disable
EOF
	)
}

# --- process helpers ---------------------------------------------------------

pid_alive() { # pidfile
	[[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null
}

port_busy() { # port
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

check_port_free() { # name port
	if port_busy "$2"; then
		die "$1: port 127.0.0.1:$2 is already in use by another process; set PROMOFLOW_${1^^}_PORT to a free port (see scripts/stack.sh)"
	fi
}

wait_for() { # name seconds command...
	local name=$1 limit=$2
	shift 2
	local i
	for ((i = 0; i < limit * 4; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.25
	done
	die "$name did not become healthy within ${limit}s (logs in $STACK_DIR/logs)"
}

http_ok() { # url
	if command -v curl >/dev/null; then
		curl -fsS -o /dev/null --max-time 2 "$1"
	else
		local hostport=${1#http://}
		hostport=${hostport%%/*}
		port_busy "${hostport##*:}"
	fi
}

# --- PostgreSQL ----------------------------------------------------------------

# PostgreSQL refuses to run as root, so as root it runs as the postgres user;
# its data then lives where that user can reach it, linked from the state dir.
pg_data_dir() {
	if [[ $(id -u) -ne 0 ]]; then
		echo "$STACK_DIR/pg"
		return
	fi
	if su postgres -s /bin/sh -c "test -x '$STACK_DIR'" 2>/dev/null; then
		echo "$STACK_DIR/pg"
	else
		echo "/var/tmp/promoflow-pg-$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-12)"
	fi
}

as_pg() {
	if [[ $(id -u) -eq 0 ]]; then
		su postgres -s /bin/sh -c "$*"
	else
		sh -c "$*"
	fi
}

pg_running() {
	local bindir data
	bindir=$(pg_bindir) || return 1
	data=$(pg_data_dir)
	[[ -f $data/data/postmaster.pid ]] && as_pg "'$bindir/pg_ctl' -D '$data/data' status" >/dev/null 2>&1
}

psql_super() { # sql...
	local bindir
	bindir=$(pg_bindir)
	PGPASSWORD=$PROMOFLOW_PG_SUPERUSER_PASSWORD "$bindir/psql" -X -q -v ON_ERROR_STOP=1 \
		-h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

start_pg() {
	ensure_postgres
	local bindir data
	bindir=$(pg_bindir)
	data=$(pg_data_dir)
	if pg_running; then
		log "postgresql already running"
		return
	fi
	check_port_free pg "$PG_PORT"
	if [[ $(id -u) -eq 0 ]]; then
		mkdir -p "$data"
		chown postgres "$data"
		[[ $data == "$STACK_DIR/pg" ]] || ln -sfn "$data" "$STACK_DIR/pg"
	else
		mkdir -p "$data"
	fi
	if [[ ! -f $data/data/PG_VERSION ]]; then
		local pw=$data/.pw
		(umask 077 && printf '%s\n' "$PROMOFLOW_PG_SUPERUSER_PASSWORD" >"$pw")
		[[ $(id -u) -ne 0 ]] || chown postgres "$pw"
		as_pg "'$bindir/initdb' -D '$data/data' -U postgres --auth-host=scram-sha-256 --auth-local=peer --pwfile='$pw' -E UTF8 --locale=C.UTF-8" >"$STACK_DIR/logs/pg-initdb.log" 2>&1 ||
			{ rm -f "$pw"; die "initdb failed (see $STACK_DIR/logs/pg-initdb.log)"; }
		rm -f "$pw"
	fi
	as_pg "'$bindir/pg_ctl' -D '$data/data' -l '$data/postgres.log' -w -t 60 \
		-o \"-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200\" start" >/dev/null ||
		die "postgresql did not start (see $data/postgres.log)"
	wait_for postgresql 60 psql_super -c 'select 1'
}

# pg_setup (re)applies the role, database and schema for promoflow.
pg_setup() {
	# The app's role owns its schema and nothing else: the database belongs
	# to postgres, nobody else may create in it, and the role cannot create
	# databases or roles. Its password follows the environment.
	psql_super <<SQL >/dev/null
SELECT 'CREATE ROLE promoflow LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'promoflow')\gexec
ALTER ROLE promoflow WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '$PROMOFLOW_PG_PASSWORD';
SELECT 'CREATE DATABASE promoflow OWNER postgres' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'promoflow')\gexec
ALTER DATABASE promoflow OWNER TO postgres;
REVOKE CREATE, TEMPORARY ON DATABASE promoflow FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE promoflow TO promoflow;
ALTER ROLE promoflow IN DATABASE promoflow SET search_path = promoflow;
SQL
	psql_super -d promoflow <<SQL >/dev/null
SET client_min_messages = warning;
ALTER SCHEMA public OWNER TO pg_database_owner;
REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA IF NOT EXISTS promoflow AUTHORIZATION promoflow;
SQL
}

stop_pg() {
	local bindir data
	bindir=$(pg_bindir) || return 0
	data=$(pg_data_dir)
	if pg_running; then
		as_pg "'$bindir/pg_ctl' -D '$data/data' -m fast -w stop" >/dev/null && log "postgresql stopped"
	fi
}

# --- MinIO -----------------------------------------------------------------------

start_minio() {
	local pidf=$STACK_DIR/minio.pid
	if pid_alive "$pidf"; then
		log "minio already running"
		return
	fi
	check_port_free minio "$MINIO_PORT"
	check_port_free minio_console "$MINIO_CONSOLE_PORT"
	mkdir -p "$STACK_DIR/minio"
	MINIO_ROOT_USER=$PROMOFLOW_MINIO_ROOT_USER MINIO_ROOT_PASSWORD=$PROMOFLOW_MINIO_ROOT_PASSWORD \
		MINIO_BROWSER_REDIRECT=off MINIO_UPDATE=off \
		setsid "$MINIO_BIN" server --quiet --address "127.0.0.1:$MINIO_PORT" \
		--console-address "127.0.0.1:$MINIO_CONSOLE_PORT" "$STACK_DIR/minio" \
		>"$STACK_DIR/logs/minio.log" 2>&1 </dev/null &
	echo $! >"$pidf"
	wait_for minio 60 http_ok "http://127.0.0.1:$MINIO_PORT/minio/health/ready"
}

# minio_users creates the worker's and the scoring service's least-privilege
# users with tools/minio-users (its own module, built once per source hash).
minio_users() {
	local src=$ROOT/tools/minio-users hash bin
	hash=$(cat "$src/main.go" "$src/go.mod" "$src/go.sum" | sha256sum | cut -c1-12)
	bin=$CACHE_DIR/minio-users-$hash/minio-users
	if [[ ! -x $bin ]]; then
		log "building tools/minio-users"
		mkdir -p "$(dirname "$bin")"
		(cd "$src" && GOFLAGS=-mod=mod go build -o "$bin" .) || die "building tools/minio-users failed"
	fi
	PROMOFLOW_MINIO_ENDPOINT=127.0.0.1:$MINIO_PORT PROMOFLOW_MINIO_BUCKET=${PROMOFLOW_MINIO_BUCKET:-promoflow} \
		"$bin" || die "creating MinIO users failed"
}

# --- Prometheus ---------------------------------------------------------------

ensure_prometheus() {
	command -v prometheus >/dev/null && return
	[[ $(id -u) -eq 0 ]] || die "Prometheus is not installed: run 'sudo apt-get install -y prometheus'"
	log "installing Debian's prometheus package"
	{ DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus >/dev/null 2>&1 ||
		{ apt-get update >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y prometheus >/dev/null; }; } ||
		die "apt-get install prometheus failed"
	# The package starts a system-wide Prometheus on :9090; the stack runs its own.
	systemctl disable --now prometheus >/dev/null 2>&1 || true
}

# start_prometheus runs Prometheus with the project's alert rules, scraping
# the worker every 2 s so alerts show within seconds on the local stack.
start_prometheus() {
	local pidf=$STACK_DIR/prometheus.pid
	if pid_alive "$pidf"; then
		log "prometheus already running"
		return
	fi
	ensure_prometheus
	check_port_free prometheus "$PROMETHEUS_PORT"
	mkdir -p "$STACK_DIR/prometheus"
	sed -e "s|scrape_interval: .*|scrape_interval: 2s|; s|evaluation_interval: .*|evaluation_interval: 2s|" \
		-e "s|  - rules/\*.yml|  - $ROOT/deploy/prometheus/rules/*.yml|" \
		-e "s|targets: \[\"localhost:9464\"\]|targets: [\"$METRICS_ADDR\"]|" \
		"$ROOT/deploy/prometheus/prometheus.yml" >"$STACK_DIR/prometheus.yml"
	setsid prometheus --config.file="$STACK_DIR/prometheus.yml" --storage.tsdb.path="$STACK_DIR/prometheus" \
		--web.listen-address="127.0.0.1:$PROMETHEUS_PORT" >"$STACK_DIR/logs/prometheus.log" 2>&1 </dev/null &
	echo $! >"$pidf"
	wait_for prometheus 60 http_ok "http://127.0.0.1:$PROMETHEUS_PORT/-/ready"
}

# --- Temporal --------------------------------------------------------------------

start_temporal() {
	local pidf=$STACK_DIR/temporal.pid
	if pid_alive "$pidf"; then
		log "temporal already running"
		return
	fi
	check_port_free temporal "$TEMPORAL_PORT"
	check_port_free temporal_ui "$TEMPORAL_UI_PORT"
	mkdir -p "$STACK_DIR/temporal"
	setsid "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
		--ui-port "$TEMPORAL_UI_PORT" --db-filename "$STACK_DIR/temporal/temporal.db" \
		--log-level warn --namespace default \
		--search-attribute PromoflowModel=Keyword \
		--search-attribute PromoflowDay=Keyword \
		--search-attribute PromoflowVersion=Int \
		>"$STACK_DIR/logs/temporal.log" 2>&1 </dev/null &
	echo $! >"$pidf"
	wait_for temporal 90 "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT"
}

stop_pidfile() { # name pidfile
	local name=$1 pidf=$2 pid i
	pid_alive "$pidf" || { rm -f "$pidf"; return 0; }
	pid=$(cat "$pidf")
	kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
	rm -f "$pidf"
	log "$name stopped"
}

# --- commands ----------------------------------------------------------------------

up() {
	mkdir -p "$STACK_DIR/logs"
	load_secrets
	build
	start_pg
	pg_setup
	start_minio
	minio_users
	start_temporal
	start_prometheus
	write_env
	cat >&2 <<EOF
stack: up — state in $STACK_DIR
  Temporal   127.0.0.1:$TEMPORAL_PORT   UI http://127.0.0.1:$TEMPORAL_UI_PORT
  MinIO      127.0.0.1:$MINIO_PORT   console http://127.0.0.1:$MINIO_CONSOLE_PORT
  PostgreSQL 127.0.0.1:$PG_PORT   database promoflow, role promoflow
  Prometheus http://127.0.0.1:$PROMETHEUS_PORT   scraping the worker at $METRICS_ADDR, alert rules from deploy/prometheus
  credentials: PROMOFLOW_MINIO_ACCESS_KEY, PROMOFLOW_MINIO_SECRET_KEY, PROMOFLOW_PG_URL
  (values in $STACK_DIR/env, mode 600; load them with: . $STACK_DIR/env)
EOF
}

down() {
	stop_pidfile prometheus "$STACK_DIR/prometheus.pid"
	stop_pidfile temporal "$STACK_DIR/temporal.pid"
	stop_pidfile minio "$STACK_DIR/minio.pid"
	stop_pg
}

status() {
	local rc=0
	if pid_alive "$STACK_DIR/temporal.pid"; then echo "temporal   up   127.0.0.1:$TEMPORAL_PORT"; else echo "temporal   down"; rc=1; fi
	if pid_alive "$STACK_DIR/minio.pid"; then echo "minio      up   127.0.0.1:$MINIO_PORT"; else echo "minio      down"; rc=1; fi
	if pg_running; then echo "postgresql up   127.0.0.1:$PG_PORT"; else echo "postgresql down"; rc=1; fi
	if pid_alive "$STACK_DIR/prometheus.pid"; then echo "prometheus up   127.0.0.1:$PROMETHEUS_PORT"; else echo "prometheus down"; rc=1; fi
	return $rc
}

# one NAME: stop or start a single server (fault tests use this to take
# one away and bring it back).
one() { # stop|start name
	mkdir -p "$STACK_DIR/logs"
	load_secrets
	case $1:$2 in
	stop:temporal) stop_pidfile temporal "$STACK_DIR/temporal.pid" ;;
	stop:minio) stop_pidfile minio "$STACK_DIR/minio.pid" ;;
	stop:pg | stop:postgresql) stop_pg ;;
	stop:prometheus) stop_pidfile prometheus "$STACK_DIR/prometheus.pid" ;;
	start:prometheus) start_prometheus ;;
	start:temporal) start_temporal ;;
	start:minio) start_minio ;;
	start:pg | start:postgresql) start_pg && pg_setup ;;
	*) die "usage: $0 stop|start temporal|minio|pg" ;;
	esac
}

case ${1:-} in
up) up ;;
stop | start) one "$1" "${2:-}" ;;
down) down ;;
status) status ;;
build) build ;;
env) cat "$STACK_DIR/env" ;;
*)
	echo "usage: $0 up|down|status|build|env|stop NAME|start NAME" >&2
	exit 2
	;;
esac
