#!/usr/bin/env bash
# The AgentCloud benchmark: builds Release, starts its own PostgreSQL, the API, the workers and a
# baseline app, loads the data, runs every measurement next to its baseline, prints one table and
# cleans up everything it started. See bench/README.md.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
OUT=$BENCH/.out
RUN_ID=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$BENCH/results/$RUN_ID
DATA=$RESULTS/data
LOGS=$RESULTS/logs
mkdir -p "$DATA" "$LOGS"

WARMUP=${BENCH_WARMUP:-3}
DURATION=${BENCH_DURATION:-10}
REPEAT=${BENCH_REPEAT:-3}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
MESSAGES=${BENCH_MESSAGES:-20000}
SKIP_APPHOST=${BENCH_SKIP_APPHOST:-0}
TRACE=${BENCH_TRACE:-0}
# Which parts run (comma-separated); the default is all of them. E.g. BENCH_ONLY=pgbench,llm,stream,hot.
ONLY=${BENCH_ONLY:-reads,login,msg,sql,pgbench,llm,stream,waits,hot,apphost}
HOT_COUNT=${BENCH_HOT_COUNT:-6000}
HOT_WARMUP=${BENCH_HOT_WARMUP:-2000}
WARMUP_MESSAGES=${BENCH_WARMUP_MESSAGES:-5000}
WORKER_WARMUP=${BENCH_WORKER_WARMUP:-10000}
BACKLOG=${BENCH_BACKLOG_MESSAGES:-20000}
LLM_WORKERS=${BENCH_LLM_WORKERS:-2}
STREAM_TTFT_MS=${BENCH_STREAM_TTFT_MS:-50}
want() { [[ ",$ONLY," == *",$1,"* ]]; }

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
unset OTEL_EXPORTER_OTLP_ENDPOINT OTEL_EXPORTER_OTLP_HEADERS
STARTED=$(date +%s)

say() { printf '\n[%3ds] %s\n' $(($(date +%s) - STARTED)) "$*"; }
load_average() { cut -d' ' -f1-3 /proc/loadavg; }

# ---------------------------------------------------------------- cleanup: only what this script started
PIDS=()
PG_PID=""
PG_DIR=""
APPHOST_PID=""
cleanup() {
    local status=$?
    set +e
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
        kill -CONT "$pid" 2>/dev/null # a worker stopped for a backlog gets its TERM
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null
    done
    stop_apphost
    if [ -n "$PG_PID" ]; then
        kill -INT "$PG_PID" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PG_PID" 2>/dev/null
    fi
    [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

stop_pid() { # stop one process this script started, and forget it
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    local kept=()
    for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && kept+=("$p"); done
    PIDS=("${kept[@]}")
}

# The AppHost's processes (orchestrator, dashboard, PostgreSQL, services) inherit BENCH_APPHOST_TAG=<run id>
# from it, and the orchestrator detaches from our session: the tag is how we find exactly ours.
tagged() {
    local environ
    for environ in /proc/[0-9]*/environ; do
        grep -qz "^BENCH_APPHOST_TAG=$RUN_ID\$" "$environ" 2>/dev/null && { environ=${environ%/environ}; echo "${environ#/proc/}"; }
    done
    return 0
}
stop_apphost() {
    [ -n "$APPHOST_PID" ] || return 0
    kill -TERM "$APPHOST_PID" $(pgrep -P "$APPHOST_PID") 2>/dev/null
    for _ in $(seq 30); do [ -z "$(tagged)" ] && break; sleep 1; done
    for pid in $(tagged); do kill -TERM "$pid" 2>/dev/null; done
    sleep 2
    for pid in $(tagged); do kill -KILL "$pid" 2>/dev/null; done
    APPHOST_PID=""
}

free_port() {
    local port
    while true; do
        port=$((20000 + RANDOM % 30000))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
    done
}

wait_http() { # url, seconds
    for _ in $(seq $(($2 * 10))); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "no answer from $1 after $2 s" >&2
    return 1
}

wait_started() { # pid url seconds: the process answers, or it died
    for _ in $(seq $(($3 * 10))); do
        kill -0 "$1" 2>/dev/null || return 1
        curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# BENCH_TRACE=1: sample a process's stacks (dotnet-trace) while a measurement runs, then list its top methods.
TRACE_PID=""
trace_start() { # name pid seconds
    [ "$TRACE" = 1 ] || return 0
    local tool; tool=$(command -v dotnet-trace || echo "$HOME/.dotnet/tools/dotnet-trace")
    [ -x "$tool" ] || dotnet tool install --global dotnet-trace > "$LOGS/dotnet-trace-install.log" 2>&1 || return 0
    "$tool" collect -p "$2" --profile dotnet-sampled-thread-time --duration "00:00:$(printf '%02d' "$3")" \
        -o "$RESULTS/trace-$1.nettrace" > "$LOGS/trace-$1.log" 2>&1 &
    TRACE_PID=$!
    TRACE_NAME=$1
    sleep 1
}
trace_end() {
    [ -n "$TRACE_PID" ] || return 0
    wait "$TRACE_PID" 2>/dev/null || true
    TRACE_PID=""
    local tool; tool=$(command -v dotnet-trace || echo "$HOME/.dotnet/tools/dotnet-trace")
    "$tool" report "$RESULTS/trace-$TRACE_NAME.nettrace" topN -n 40 > "$RESULTS/trace-$TRACE_NAME-exclusive.txt" 2>&1 || true
    "$tool" report "$RESULTS/trace-$TRACE_NAME.nettrace" topN -n 60 --inclusive > "$RESULTS/trace-$TRACE_NAME-inclusive.txt" 2>&1 || true
    rm -f "$RESULTS/trace-$TRACE_NAME.nettrace.etlx"
    echo "  trace: $RESULTS/trace-$TRACE_NAME-{exclusive,inclusive}.txt"
}

hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

json() { # name key value ... -> $DATA/<name>.json
    local name=$1 file=$DATA/$1.json; shift
    { printf '{"name": "%s"' "$name"; while [ $# -gt 0 ]; do printf ', "%s": %s' "$1" "$2"; shift 2; done; printf '}\n'; } > "$file"
}

# ---------------------------------------------------------------- prerequisites
say "Machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), load average $(load_average)"
if ! command -v curl >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl >/dev/null
fi
PG_BIN=""
if [ -z "${BENCH_CONNECTION_STRING:-}" ]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    if [ -z "$PG_BIN" ] && command -v postgres >/dev/null; then PG_BIN=$(dirname "$(readlink -f "$(command -v postgres)")"); fi
    if [ -z "$PG_BIN" ]; then
        say "Installing the PostgreSQL server package"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
        PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
    fi
    if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
fi

# ---------------------------------------------------------------- build (Release, into bench/.out)
# Precompiled (ReadyToRun) for this machine's runtime, as a deployment publishes them (the projects' PublishReadyToRun): a process
# measured seconds after its start would otherwise spend a fifth of its processor time in the JIT (perf, the /submit flood).
case "$(uname -m)" in aarch64) RID=linux-arm64 ;; *) RID=linux-x64 ;; esac
publish() { # project, output folder; retried: other builds may hold the obj folders for a moment
    for attempt in 1 2 3 4; do
        if dotnet publish "$ROOT/$1" -c Release -r "$RID" --self-contained false -p:PublishReadyToRun=true -o "$OUT/$2" -v quiet -nologo \
            > "$LOGS/build-$2.log" 2>&1; then return 0; fi
        echo "  build of $1 failed (attempt $attempt), retrying in 20 s; see $LOGS/build-$2.log"
        sleep 20
    done
    cat "$LOGS/build-$2.log"
    return 1
}
say "Building Release"
publish AgentCloud.DbMigrator/AgentCloud.DbMigrator.csproj migrator
publish AgentCloud.Api/AgentCloud.Api.csproj api
publish AgentCloud.AgentWorker/AgentCloud.AgentWorker.csproj worker
publish bench/Baseline/Baseline.csproj baseline
publish bench/Tool/Tool.csproj tool
if [ "$SKIP_APPHOST" != 1 ] && want apphost; then
    for attempt in 1 2 3 4; do
        dotnet build "$ROOT/AgentCloud.AppHost/AgentCloud.AppHost.csproj" -c Release -v quiet -nologo > "$LOGS/build-apphost.log" 2>&1 && break
        [ "$attempt" = 4 ] && { cat "$LOGS/build-apphost.log"; exit 1; }
        sleep 20
    done
fi
TOOL=("$OUT/tool/bench-tool")

# ---------------------------------------------------------------- PostgreSQL
if [ -n "${BENCH_CONNECTION_STRING:-}" ]; then
    CONN=$BENCH_CONNECTION_STRING
    say "Using the external PostgreSQL server of BENCH_CONNECTION_STRING"
else
    PG_PORT=$(free_port)
    PG_DIR=$(mktemp -d /tmp/agentcloud-bench-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    AS_POSTGRES=()
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$PG_DIR"
        AS_POSTGRES=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    fi
    say "Starting PostgreSQL ($("$PG_BIN/postgres" --version)) on port $PG_PORT in $PG_DIR"
    "${AS_POSTGRES[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --auth=trust -E UTF8 > "$LOGS/initdb.log" 2>&1
    # As the AppHost's local mode runs it (AgentCloud.AppHost/Postgres/LocalPostgresCluster.cs).
    "${AS_POSTGRES[@]}" "$PG_BIN/postgres" -D "$PG_DIR/data" -p "$PG_PORT" -c listen_addresses=127.0.0.1 \
        -c "unix_socket_directories=$PG_DIR" -c max_connections=200 > "$LOGS/postgres.log" 2>&1 &
    PG_PID=$!
    for _ in $(seq 100); do "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" && break; sleep 0.1; done
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres agentsdb
    CONN="Host=127.0.0.1;Port=$PG_PORT;Database=agentsdb;Username=postgres"
fi

# ---------------------------------------------------------------- pgbench: what this PostgreSQL allows, same run
# Measured first, on the same cluster, before any of our processes run: one-row insert commits at 32
# clients, and a minimal queue (16 clients insert one row each, 4 complete batches of 16 with SKIP LOCKED).
if want pgbench; then
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pgbench" ]; then
        echo "  pgbench skipped: no local PostgreSQL binaries (BENCH_CONNECTION_STRING is set or pgbench is missing)"
    else
        say "pgbench ceiling: one-row inserts at 32 clients, then a minimal SKIP LOCKED queue (16 inserting, 4 completing), ${DURATION} s each"
        PGB=$RESULTS/pgbench
        mkdir -p "$PGB"
        pgb_sql() { "$PG_BIN/psql" -qAt -h 127.0.0.1 -p "$PG_PORT" -U postgres -d pgbench -c "$1"; }
        "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres pgbench
        pgb_sql "CREATE TABLE one_row (id bigserial PRIMARY KEY, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
                 CREATE TABLE queue (id bigserial PRIMARY KEY, payload text NOT NULL, done boolean NOT NULL DEFAULT false);
                 CREATE INDEX queue_todo ON queue (id) WHERE NOT done;"
        echo "INSERT INTO one_row (payload) VALUES ('one row of ordinary length');" > "$PGB/insert.sql"
        echo "INSERT INTO queue (payload) VALUES ('one row of ordinary length');" > "$PGB/enqueue.sql"
        echo "UPDATE queue SET done = true WHERE id IN (SELECT id FROM queue WHERE NOT done ORDER BY id LIMIT 16 FOR UPDATE SKIP LOCKED);" > "$PGB/complete.sql"
        pgbench() { "$PG_BIN/pgbench" -n -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@" pgbench; }
        pgbench -c 32 -j 2 -T "$DURATION" -f "$PGB/insert.sql" > "$PGB/insert.txt" 2>&1
        INSERT_TPS=$(sed -nE 's/^tps = ([0-9.]+) .*/\1/p' "$PGB/insert.txt" | head -1)
        pgb_sql "TRUNCATE queue"
        pgbench -c 16 -j 1 -T "$DURATION" -f "$PGB/enqueue.sql" > "$PGB/enqueue.txt" 2>&1 &
        ENQ_PID=$!
        pgbench -c 4 -j 1 -T "$DURATION" -f "$PGB/complete.sql" > "$PGB/complete.txt" 2>&1
        wait "$ENQ_PID"
        read -r Q_INSERTED Q_DONE <<< "$(pgb_sql "SELECT count(*), count(*) FILTER (WHERE done) FROM queue" | tr '|' ' ')"
        json pgbench insert_commits_per_s "${INSERT_TPS:-0}" queue_inserted_per_s "$(awk -v n="$Q_INSERTED" -v t="$DURATION" 'BEGIN {printf "%.1f", n / t}')" \
            queue_completed_per_s "$(awk -v n="$Q_DONE" -v t="$DURATION" 'BEGIN {printf "%.1f", n / t}')" load "\"$(load_average)\""
        echo "  one-row insert commits/s at 32 clients: $INSERT_TPS; queue: $Q_INSERTED inserted, $Q_DONE completed in $DURATION s (load $(load_average))"
        "$PG_BIN/dropdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres pgbench
    fi
fi

# ---------------------------------------------------------------- the scripted model server (llm and stream figures)
MODEL=""
if want llm || want stream || want waits; then
    MODEL_PORT=$(free_port)
    MODEL=http://127.0.0.1:$MODEL_PORT
    say "Starting the scripted OpenAI-compatible model server on $MODEL"
    "${TOOL[@]}" model-server --port "$MODEL_PORT" > "$LOGS/model-server.log" 2>&1 &
    PIDS+=("$!")
    wait_http "$MODEL/health" 30
fi

say "Migrating"
(cd "$OUT/migrator" && ConnectionStrings__agentsdb=$CONN DOTNET_ENVIRONMENT=Production \
    dotnet AgentCloud.DbMigrator.dll > "$LOGS/migrator.log" 2>&1) || { cat "$LOGS/migrator.log"; exit 1; }

# ---------------------------------------------------------------- services
secret() { head -c 48 /dev/urandom | base64 | tr -d '\n'; }
export JWT_SECRET_KEY BACKEND_AGENT_SEED
JWT_SECRET_KEY=$(secret)
BACKEND_AGENT_SEED=$(secret)
EXTRA_ENV=()
# Quotas raised: the bench sends more than a user's daily allowance on purpose. With the model server up,
# the API (to validate llm configs) and the workers get it as their model connection.
start_service() { # folder dll port log -> pid in $STARTED_PID; $EXTRA_ENV adds variables
    local model_env=()
    [ -n "$MODEL" ] && model_env=("ConnectionStrings__llm=Endpoint=$MODEL/v1;Key=bench-not-a-real-key;Model=bench-model")
    (cd "$OUT/$1" && exec env "${model_env[@]}" "${EXTRA_ENV[@]}" ASPNETCORE_ENVIRONMENT=Production DOTNET_ENVIRONMENT=Production \
        Quotas__AgentsPerUser=100000 Quotas__MessagesPerDay=100000000 Quotas__QueuedMessagesPerAgent=1000000 \
        ASPNETCORE_URLS="http://127.0.0.1:$3" ConnectionStrings__agentsdb="$CONN" \
        RateLimiting__Login__PermitLimit=1000000 RateLimiting__Signup__PermitLimit=1000000 \
        dotnet "$2" > "$LOGS/$4.log" 2>&1) &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
}

API_PORT=$(free_port)
QUIET_PORT=$(free_port)
BASE_PORT=$(free_port)
API=http://127.0.0.1:$API_PORT
QUIET=http://127.0.0.1:$QUIET_PORT
BASE=http://127.0.0.1:$BASE_PORT
say "Starting the API on $API, the baseline app on $BASE"
start_service api AgentCloud.Api.dll "$API_PORT" api; API_PID=$STARTED_PID
start_service baseline Baseline.dll "$BASE_PORT" baseline; BASE_PID=$STARTED_PID
# The same API with warnings-only logging (it ships no appsettings.json, so it logs every request at Information).
EXTRA_ENV=(Logging__LogLevel__Default=Warning)
start_service api AgentCloud.Api.dll "$QUIET_PORT" api-quiet-logging; QUIET_PID=$STARTED_PID
EXTRA_ENV=()
wait_http "$API/health" 60
wait_http "$BASE/health" 60
wait_http "$QUIET/health" 60

if want reads; then
    say "Loading data: a user, 201 agents, 1,000,000 log lines"
    "${TOOL[@]}" setup --api "$API" --conn "$CONN" --out "$RESULTS/state.json"
else
    say "Loading data: a user and 101 agents (no log lines: the reads are not measured)"
    "${TOOL[@]}" setup --api "$API" --conn "$CONN" --logs 0 --out "$RESULTS/state.json"
fi
TOKEN=$(sed -E 's/.*"token":"([^"]+)".*/\1/' "$RESULTS/state.json")
LOGS_AGENT=$(sed -E 's/.*"logs_agent":([0-9]+).*/\1/' "$RESULTS/state.json")
CURSOR=$(sed -E 's/.*"deep_cursor":"([^"]+)".*/\1/' "$RESULTS/state.json")
USERNAME=$(sed -E 's/.*"username":"([^"]+)".*/\1/' "$RESULTS/state.json")
PASSWORD=$(sed -E 's/.*"password":"([^"]+)".*/\1/' "$RESULTS/state.json")
want reads && "${TOOL[@]}" explain --conn "$CONN" --state "$RESULTS/state.json" --plan "$RESULTS/explain.txt" --out "$DATA/explain.json"
LOAD_BEFORE=$(load_average)

# ---------------------------------------------------------------- HTTP reads: API and baseline, interleaved
http() { # name target url run
    "${TOOL[@]}" http --name "$1.$2" --url "$3" --header "Authorization: Bearer $TOKEN" --concurrency "$CONCURRENCY" \
        --warmup "$WARMUP" --duration "$DURATION" --out "$DATA/$1.$2.$4.json"
}
want reads && say "HTTP reads: $REPEAT x ${DURATION} s per figure after ${WARMUP} s warm-up, $CONCURRENCY connections"
want reads && for run in $(seq "$REPEAT"); do
    for target in api baseline; do
        host=$API; [ "$target" = baseline ] && host=$BASE
        [ "$run$target" = 1api ] && trace_start api-users-me "$API_PID" $((WARMUP + DURATION))
        http users_me "$target" "$host/users/me" "$run"
        trace_end
        http logs_first "$target" "$host/agents/$LOGS_AGENT/logs?limit=100" "$run"
        http logs_deep "$target" "$host/agents/$LOGS_AGENT/logs?limit=100&cursor=$CURSOR" "$run"
    done
    http users_me api_quiet "$QUIET/users/me" "$run"
    # Few connections: the query's own latency, without 32 requests queueing for 2 cores.
    CONCURRENCY=4 http logs_first api_c4 "$API/agents/$LOGS_AGENT/logs?limit=100" "$run"
    CONCURRENCY=4 http logs_deep api_c4 "$API/agents/$LOGS_AGENT/logs?limit=100&cursor=$CURSOR" "$run"
done
stop_pid "$QUIET_PID"

if want login; then
    say "POST /login and the password hash's cost"
    "${TOOL[@]}" hash --seconds 3 --out "$DATA/hash.json"
    "${TOOL[@]}" http --name login.api --url "$API/login" --method POST \
        --body "{\"username\": \"$USERNAME\", \"password\": \"$PASSWORD\"}" --concurrency 4 --warmup 2 --duration "$DURATION" \
        --out "$DATA/login.api.json"
fi

# ---------------------------------------------------------------- messages
WORKER_HWM=0
start_workers() { # count [log name]
    WORKER_PIDS=()
    WORKER_URLS=()
    for i in $(seq "$1"); do
        local port
        # Another process on this shared machine may take the free port first: then try another one.
        for attempt in 1 2 3; do
            port=$(free_port)
            start_service worker AgentCloud.AgentWorker.dll "$port" "worker-${2:-$1}-$i"
            if wait_started "$STARTED_PID" "http://127.0.0.1:$port/health" 60; then break; fi
            echo "  worker on port $port did not start (attempt $attempt); see $LOGS/worker-${2:-$1}-$i.log"
            stop_pid "$STARTED_PID"
            [ "$attempt" = 3 ] && exit 1
        done
        WORKER_PIDS+=("$STARTED_PID")
        WORKER_URLS+=("http://127.0.0.1:$port")
    done
}
stop_workers() {
    for pid in "${WORKER_PIDS[@]}"; do
        local kb; kb=$(hwm_kb "$pid")
        [ "$kb" -gt "$WORKER_HWM" ] && WORKER_HWM=$kb
        stop_pid "$pid"
    done
}
# Warm-up, not measured: a fresh API runs code not yet compiled to its final tier, and a fresh database plans every
# statement on the statistics of empty tables until autovacuum analyzes them, within a minute of use. The reads have
# their warm-up seconds; the messages get this, then ANALYZE (as autovacuum would), so every figure is the steady state.
if want msg || want hot; then
    say "Warm-up: $WARMUP_MESSAGES messages through the API with 1 worker, then ANALYZE (not measured)"
    start_workers 1 warmup
    "${TOOL[@]}" messages --name msg.warmup --api "$API" --conn "$CONN" --state "$RESULTS/state.json" \
        --count "$WARMUP_MESSAGES" --concurrency "$CONCURRENCY" --analyze true --out "$RESULTS/msg.warmup.json"
    stop_workers
fi
want msg && for workers in 1 2; do
    say "Messages with $workers worker(s): $((WORKER_WARMUP * workers)) to warm them (not measured), $MESSAGES at full load, then ~20 s at half the rate they handled"
    start_workers "$workers"
    # The measured workers are fresh processes: under full load on two cores, a fresh worker spends its first 15 s or more
    # compiling its hot code to the final JIT tier (perf), and two of them compete for the cores doing it. Warm them first,
    # as the hot figures do, so the figures are the steady state (not measured).
    "${TOOL[@]}" messages --name "msg.w$workers.warmup" --api "$API" --conn "$CONN" --state "$RESULTS/state.json" \
        --count $((WORKER_WARMUP * workers)) --concurrency "$CONCURRENCY" --out "$RESULTS/msg.w$workers.warmup.json"
    [ "$workers" = 1 ] && trace_start worker-messages "${WORKER_PIDS[0]}" 20
    "${TOOL[@]}" messages --name "msg.w$workers.full" --api "$API" --conn "$CONN" --state "$RESULTS/state.json" \
        --count "$MESSAGES" --concurrency "$CONCURRENCY" --out "$DATA/msg.w$workers.full.json"
    trace_end
    # Half load: half the rate the workers just handled at full load (their capacity; the API accepts
    # faster than that, so half the accepted rate could still overload them), for ~20 s.
    RATE=$(grep -o '"handled_per_s": [0-9.]*' "$DATA/msg.w$workers.full.json" | awk '{printf "%d", $2 / 2}')
    HALF_COUNT=$((RATE * 20 < MESSAGES / 2 ? RATE * 20 : MESSAGES / 2))
    "${TOOL[@]}" messages --name "msg.w$workers.half" --api "$API" --conn "$CONN" --state "$RESULTS/state.json" \
        --count "$HALF_COUNT" --concurrency "$CONCURRENCY" --rate "$RATE" --out "$DATA/msg.w$workers.half.json"
    # From a backlog (issue 9's figures taken apart): the same workers, warm, are stopped (SIGSTOP: their connections stay
    # open, they claim nothing) while $BACKLOG messages are posted, so the API accepts alone; then they go on and drain them.
    say "Messages from a backlog with $workers worker(s): $BACKLOG posted while the workers are stopped, then drained (load $(load_average))"
    kill -STOP "${WORKER_PIDS[@]}"
    "${TOOL[@]}" messages --name "msg.w$workers.backlog" --phase post --api "$API" --conn "$CONN" --state "$RESULTS/state.json" \
        --count "$BACKLOG" --concurrency "$CONCURRENCY" --out "$RESULTS/msg.w$workers.backlog.posted.json"
    kill -CONT "${WORKER_PIDS[@]}"
    "${TOOL[@]}" messages --name "msg.w$workers.backlog" --phase measure --posted "$RESULTS/msg.w$workers.backlog.posted.json" \
        --conn "$CONN" --out "$DATA/msg.w$workers.backlog.json"
    stop_workers
done

if want sql; then
    say "Messages, the plain-SQL limit (no workers running)"
    "${TOOL[@]}" sql-messages --name msg.sql --conn "$CONN" --state "$RESULTS/state.json" --count "$MESSAGES" --out "$DATA/msg.sql.json"
fi

# ---------------------------------------------------------------- llm agents against the scripted model server
if want llm || want stream; then
    say "llm agents: $LLM_WORKERS worker(s) with the scripted model server as their model connection (load $(load_average))"
    start_workers "$LLM_WORKERS" llm
    if want llm; then
        say "llm run overhead beside echo: ${BENCH_LLM_SEQUENTIAL:-50} sequential messages each, then $CONCURRENCY agents x ${BENCH_LLM_ROUNDS:-10} concurrent"
        "${TOOL[@]}" llm --api "$API" --conn "$CONN" --state "$RESULTS/state.json" --model "$MODEL" --concurrency "$CONCURRENCY" \
            --sequential "${BENCH_LLM_SEQUENTIAL:-50}" --rounds "${BENCH_LLM_ROUNDS:-10}" --out "$DATA/{name}.json"
        json llm.load load "\"$(load_average)\""
    fi
    if want stream; then
        # Our own SSE (stream.sN), the Responses door's stream (stream.responses.sN) and AG-UI's (stream.ag-ui.sN), each at
        # 1 and 32 streams.
        for door in messages responses ag-ui; do
            prefix=$([ "$door" = messages ] && echo stream || echo "stream.$door")
            for streams in 1 32; do
                say "Streaming ($door): $streams concurrent stream(s), first token after $STREAM_TTFT_MS ms (load $(load_average))"
                "${TOOL[@]}" stream --name "$prefix.s$streams" --door "$door" --api "$API" --conn "$CONN" --state "$RESULTS/state.json" \
                    --model "$MODEL" --streams "$streams" --messages $((streams == 1 ? 50 : 10)) --ttft-ms "$STREAM_TTFT_MS" \
                    --out "$DATA/$prefix.s$streams.json"
            done
        done
        json stream.load load "\"$(load_average)\""
    fi
    stop_workers
fi

# ---------------------------------------------------------------- runs that wait (parked runs, delegation), one worker
if want waits; then
    say "Runs that wait: one worker, ${BENCH_WAIT_RUNS:-500} llm runs at ${BENCH_WAIT_LATENCY_MS:-2000} ms beside as many echo messages, then ${BENCH_WAIT_DELEGATIONS:-200} delegations, chains and cycles (load $(load_average))"
    start_workers 1 waits
    "${TOOL[@]}" waits --api "$API" --conn "$CONN" --state "$RESULTS/state.json" --model "$MODEL" \
        --runs "${BENCH_WAIT_RUNS:-500}" --latency-ms "${BENCH_WAIT_LATENCY_MS:-2000}" \
        --delegations "${BENCH_WAIT_DELEGATIONS:-200}" --delegation-latency-ms "${BENCH_WAIT_DELEGATION_LATENCY_MS:-1000}" \
        --chains "${BENCH_WAIT_CHAINS:-50}" --out "$DATA/{name}.json"
    json waits.load load "\"$(load_average)\""
    stop_workers
fi

# ---------------------------------------------------------------- one hot agent
if want hot; then
    # /submit's per-sender and per-agent rate limits and inbox cap raised: this measures handling, not refusal.
    EXTRA_ENV=(AgentWorker__Submit__SenderBurst=1000000 AgentWorker__Submit__SenderPerSecond=1000000
        AgentWorker__Submit__AgentBurst=1000000 AgentWorker__Submit__AgentPerSecond=1000000 AgentWorker__Submit__MaxQueuedPerAgent=1000000)
    for via in submit api; do
        say "One hot agent: $HOT_COUNT messages to ONE default agent through $via, $CONCURRENCY connections, 1 worker (load $(load_average))"
        start_workers 1 "hot-$via"
        # The fresh worker's first envelopes run code not yet at its final JIT tier: warm it on another hot agent first.
        "${TOOL[@]}" hot --name "hot.$via.warmup" --via "$via" --api "$API" --worker "${WORKER_URLS[0]}" --conn "$CONN" \
            --state "$RESULTS/state.json" --count "$HOT_WARMUP" --concurrency "$CONCURRENCY" --out "$RESULTS/hot.$via.warmup.json"
        if [ "$via" = submit ]; then trace_start worker-hot-submit "${WORKER_PIDS[0]}" 20; fi
        "${TOOL[@]}" hot --name "hot.$via" --via "$via" --api "$API" --worker "${WORKER_URLS[0]}" --conn "$CONN" --state "$RESULTS/state.json" \
            --count "$HOT_COUNT" --concurrency "$CONCURRENCY" --out "$DATA/hot.$via.json"
        if [ "$via" = submit ]; then trace_end; fi
        stop_workers
    done
    # From a backlog (issue 9's goal as it is written): the same count through the API while no worker runs, then one worker.
    say "One hot agent, from a backlog: $HOT_COUNT messages to ONE default agent through api with no worker running, then 1 worker (load $(load_average))"
    "${TOOL[@]}" hot --name hot.backlog --via api --phase post --api "$API" --conn "$CONN" --state "$RESULTS/state.json" \
        --count "$HOT_COUNT" --concurrency "$CONCURRENCY" --out "$RESULTS/hot.backlog.posted.json"
    start_workers 1 hot-backlog
    "${TOOL[@]}" hot --name hot.backlog --phase measure --posted "$RESULTS/hot.backlog.posted.json" --conn "$CONN" --out "$DATA/hot.backlog.json"
    stop_workers
    EXTRA_ENV=()
    json hot.load load "\"$(load_average)\""
fi

LOAD_AFTER=$(load_average)
json memory api_mb "$(($(hwm_kb "$API_PID") / 1024))" worker_mb "$((WORKER_HWM / 1024))" baseline_mb "$(($(hwm_kb "$BASE_PID") / 1024))"
# The API logs every request and command at Information (it ships no appsettings.json): count, keep the head.
awk '/^(info|warn|fail|crit)/ {print $1, $2}' "$LOGS/api.log" | sort | uniq -c | sort -rn > "$RESULTS/api-log-lines-by-category.txt" || true
stop_pid "$API_PID"
stop_pid "$BASE_PID"

# ---------------------------------------------------------------- AppHost: start to healthy
if [ "$SKIP_APPHOST" != 1 ] && want apphost; then
    say "AppHost: from start to API and workers healthy (ephemeral local PostgreSQL)"
    APPHOST_START=$(date +%s.%N)
    (cd "$ROOT" && exec env BENCH_APPHOST_TAG="$RUN_ID" dotnet run --project AgentCloud.AppHost -c Release --no-build \
        -- --Postgres:Ephemeral=true > "$LOGS/apphost.log" 2>&1) &
    APPHOST_PID=$!
    healthy=""
    # Healthy = the API and both worker replicas answer /health on their own ports (read from their environment).
    while [ "$(awk -v a="$APPHOST_START" -v b="$(date +%s.%N)" 'BEGIN {print (b - a < 180)}')" = 1 ]; do
        api_ok=0; workers_ok=0
        for pid in $(tagged); do
            exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || continue
            case "$exe" in */AgentCloud.Api|*/AgentCloud.AgentWorker) ;; *) continue ;; esac
            url=$(tr '\0' '\n' < "/proc/$pid/environ" | sed -n 's/^ASPNETCORE_URLS=//p' | cut -d';' -f1)
            if [ -n "$url" ] && curl -fsS -o /dev/null --max-time 1 "$url/health" 2>/dev/null; then
                case "$exe" in */AgentCloud.Api) api_ok=1 ;; *) workers_ok=$((workers_ok + 1)) ;; esac
            fi
        done
        if [ "$api_ok" = 1 ] && [ "$workers_ok" -ge 2 ]; then healthy=$(date +%s.%N); break; fi
        sleep 0.2
    done
    if [ -n "$healthy" ]; then
        json apphost seconds "$(awk -v a="$APPHOST_START" -v b="$healthy" 'BEGIN {printf "%.2f", b - a}')"
    else
        echo "  the AppHost did not get healthy in 180 s; see $LOGS/apphost.log"
    fi
    stop_apphost
fi

# ---------------------------------------------------------------- the table
json machine cores "$(nproc)" load_before "\"$LOAD_BEFORE\"" load_after "\"$LOAD_AFTER\"" seconds "$(($(date +%s) - STARTED))"
say "Results (medians of $REPEAT runs for the HTTP figures; load average $LOAD_BEFORE before, $LOAD_AFTER after the measurements)"
{
    echo "# AgentCloud benchmark, run $RUN_ID"
    echo
    echo "- machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(free -h | awk '/^Mem:/ {print $2}') RAM"
    echo "- .NET $(dotnet --version), $("${PG_BIN:-/usr/lib/postgresql/15/bin}/postgres" --version 2>/dev/null || echo 'external PostgreSQL')"
    echo "- load average (1/5/15 min): $LOAD_BEFORE before, $LOAD_AFTER after the measurements"
    echo "- parts: $ONLY"
    echo "- settings: ${DURATION} s per HTTP figure after ${WARMUP} s warm-up, $REPEAT runs, $CONCURRENCY connections; $MESSAGES messages to 100 echo agents"
    echo
} > "$RESULTS/summary.md"
cat "$RESULTS/summary.md"
"${TOOL[@]}" report --dir "$DATA" --out "$RESULTS/table.md"
cat "$RESULTS/table.md" >> "$RESULTS/summary.md"
[ -f "$RESULTS/explain.txt" ] && { echo; echo '```'; cat "$RESULTS/explain.txt"; echo '```'; } >> "$RESULTS/summary.md"
cp "$RESULTS/summary.md" "$BENCH/results/latest.md"
for log in "$LOGS"/*.log; do # keep big logs' first lines only (the API's runs to hundreds of MB)
    if [ "$(stat -c %s "$log")" -gt 10000000 ]; then head -n 2000 "$log" > "$log.head"; rm -f "$log"; fi
done
say "Done in $(($(date +%s) - STARTED)) s; results in $RESULTS (summary.md, data/*.json, logs/)"
