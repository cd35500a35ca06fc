using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace Bench;

/// <summary>One table from the result files: each figure, its baseline from the same run, the ratio, the target.</summary>
public static class Report
{
    public static Task RunAsync(Args args)
    {
        var results = Directory.GetFiles(args.Get("dir"), "*.json")
            .Select(file => JsonNode.Parse(File.ReadAllText(file))!.AsObject())
            .Where(result => result["name"] is not null)
            .GroupBy(result => result["name"]!.GetValue<string>())
            .ToDictionary(group => group.Key, group => group.ToList());

        // The median over repeated runs of one measurement; NaN when it did not run.
        double M(string name, string metric) =>
            results.TryGetValue(name, out var runs)
                ? Stats.Median(runs.Select(r => r[metric] is JsonValue v && v.TryGetValue<double>(out var d) ? d : double.NaN))
                : double.NaN;
        int Runs(string name) => results.TryGetValue(name, out var runs) ? runs.Count : 0;
        string S(string name, string metric) => results.TryGetValue(name, out var runs) ? runs[0][metric]?.ToString() ?? "" : "";

        var rows = new List<string[]>();
        var misses = new List<string>();
        void Row(string what, string product, string baseline, double ratio, string target, bool? met)
        {
            if (product.Replace("n/a", "").Trim(' ', '/', ',', '(', ')').Length == 0)
            {
                return; // not measured in this run (BENCH_ONLY)
            }

            rows.Add([what, product, baseline, double.IsNaN(ratio) ? "" : ratio.ToString("0.00#", CultureInfo.InvariantCulture), target,
                met is null ? "" : met.Value ? "met" : "**MISSED**"]);
            if (met == false)
            {
                misses.Add($"{what} ({target})");
            }
        }

        static string F(double value, string format = "0") =>
            double.IsNaN(value) ? "n/a" : value.ToString(format, CultureInfo.InvariantCulture);
        static bool? Check(double value, Func<double, bool> test) => double.IsNaN(value) ? null : test(value);
        string Lat(string name) => $"{F(M(name, "p50"), "0.0")} / {F(M(name, "p99"), "0.0")}";
        string Lat3(string name) => $"{F(M(name, "p50"), "0.0")} / {F(M(name, "p95"), "0.0")} / {F(M(name, "p99"), "0.0")}";

        foreach (var (key, label) in new[] { ("users_me", "GET /users/me"), ("logs_first", "GET /agents/{id}/logs, first page"),
            ("logs_deep", "GET /agents/{id}/logs, ~9,000 deep") })
        {
            var api = $"{key}.api";
            var baseline = $"{key}.baseline";
            var ratio = M(api, "rps") / M(baseline, "rps");
            Row($"{label}: req/s (median of {Runs(api)})", F(M(api, "rps")), F(M(baseline, "rps")), ratio, "≥ 0.70 of baseline",
                Check(ratio, r => r >= 0.70));
            var p99Target = key == "users_me" ? "" : "p99 < 20 ms";
            Row($"{label}: p50 / p99 ms", Lat(api), Lat(baseline), M(api, "p99") / M(baseline, "p99"), p99Target,
                key == "users_me" ? null : Check(M(api, "p99"), p => p < 20));
        }

        if (results.ContainsKey("users_me.api_quiet"))
        {
            var quiet = M("users_me.api_quiet", "rps") / M("users_me.baseline", "rps");
            Row("GET /users/me, API with Logging:LogLevel:Default=Warning: req/s", F(M("users_me.api_quiet", "rps")),
                F(M("users_me.baseline", "rps")), quiet,
                $"(shipped config: {F(M("users_me.api", "rps") / M("users_me.baseline", "rps"), "0.00")})", null);
            Row("GET /users/me, API with Logging:LogLevel:Default=Warning: p50 / p99 ms", Lat("users_me.api_quiet"),
                Lat("users_me.baseline"),
                M("users_me.api_quiet", "p99") / M("users_me.baseline", "p99"), "", null);
        }

        foreach (var (key, label) in new[] { ("logs_first", "first page"), ("logs_deep", "~9,000 deep") })
        {
            if (results.ContainsKey($"{key}.api_c4"))
            {
                Row($"GET /agents/{{id}}/logs, {label}, 4 connections: req/s, p50 / p99 ms",
                    $"{F(M($"{key}.api_c4", "rps"))}, {Lat($"{key}.api_c4")}", "",
                    double.NaN, "p99 < 20 ms", Check(M($"{key}.api_c4", "p99"), p => p < 20));
            }
        }

        var deepRatio = M("logs_deep.api", "rps") / M("logs_first.api", "rps");
        Row("logs: deep page vs first page, req/s (API)", F(M("logs_deep.api", "rps")), F(M("logs_first.api", "rps")) + " (first)",
            deepRatio,
            "≥ 0.90 (as fast)", Check(deepRatio, r => r >= 0.90));
        if (results.ContainsKey("explain"))
        {
            var noSeq = S("explain", "first_seq_scan") == "false" && S("explain", "deep_seq_scan") == "false";
            Row("logs: EXPLAIN first / deep page",
                $"{F(M("explain", "first_execution_ms"), "0.00")} / {F(M("explain", "deep_execution_ms"), "0.00")} ms",
                S("explain", "deep_index"), double.NaN, "index, no Seq Scan", noSeq);
        }

        var sql = "msg.sql";
        Row("messages, plain-SQL limit: accepted/s, handled/s", $"{F(M(sql, "accepted_per_s"))}, {F(M(sql, "handled_per_s"))}", "—",
            double.NaN, "", null);
        foreach (var workers in new[] { 1, 2 })
        {
            var full = $"msg.w{workers}.full";
            var half = $"msg.w{workers}.half";
            var handledRatio = M(full, "handled_per_s") / M(sql, "handled_per_s");
            Row($"messages, {workers} worker(s), full load: accepted/s", F(M(full, "accepted_per_s")), F(M(sql, "accepted_per_s")),
                M(full, "accepted_per_s") / M(sql, "accepted_per_s"), "", null);
            Row($"messages, {workers} worker(s), full load: handled/s", F(M(full, "handled_per_s")), F(M(sql, "handled_per_s")),
                handledRatio,
                "≥ 0.50 of plain SQL", Check(handledRatio, r => r >= 0.50));
            Row($"messages, {workers} worker(s), full load: accepted→done p50 / p95 / p99 ms", Lat3(full), Lat3(sql), double.NaN, "", null);
            Row($"messages, {workers} worker(s), half load ({F(M(half, "target_rate"))}/s): handled/s", F(M(half, "handled_per_s")), "",
                double.NaN, "", null);
            Row($"messages, {workers} worker(s), half load: accepted→done p50 / p95 / p99 ms", Lat3(half), "", double.NaN, "p99 < 100 ms",
                Check(M(half, "p99"), p => p < 100));
        }

        var scale = M("msg.w2.full", "handled_per_s") / M("msg.w1.full", "handled_per_s");
        Row("messages: two workers vs one, handled/s at full load", F(M("msg.w2.full", "handled_per_s")),
            F(M("msg.w1.full", "handled_per_s")) + " (one)",
            scale, "> 1.00", Check(scale, r => r > 1.0));

        // The same figures taken apart: the API alone (the workers stopped) and the workers alone (draining what it accepted).
        foreach (var workers in new[] { 1, 2 })
        {
            var backlog = $"msg.w{workers}.backlog";
            if (!results.ContainsKey(backlog))
            {
                continue;
            }

            var accepted = M(backlog, "accepted_per_s");
            Row($"messages, {F(M(backlog, "messages"))} from a backlog ({workers} worker(s) stopped while posted): the API alone, " +
                $"accepted/s",
                F(accepted), "", double.NaN, "≥ 1500", Check(accepted, a => a >= 1500));
            var drained = M(backlog, "drained_middle_per_s");
            Row($"messages from a backlog, {workers} worker(s): handled/s (middle 80 %) ÷ the API's accepted/s", F(drained), F(accepted),
                drained / accepted, "≥ 1.00", Check(drained / accepted, r => r >= 1.0));
        }

        if (results.ContainsKey("msg.w1.backlog") && results.ContainsKey("msg.w2.backlog"))
        {
            var drainScale = M("msg.w2.backlog", "drained_middle_per_s") / M("msg.w1.backlog", "drained_middle_per_s");
            Row("messages: two workers vs one, handled/s from a backlog", F(M("msg.w2.backlog", "drained_middle_per_s")),
                F(M("msg.w1.backlog", "drained_middle_per_s")) + " (one)", drainScale, "> 1.00", Check(drainScale, r => r > 1.0));
        }

        if (results.ContainsKey("pgbench"))
        {
            Row("pgbench ceiling (same run): one-row insert commits/s, 32 clients", F(M("pgbench", "insert_commits_per_s")), "", double.NaN,
                "", null);
            Row("pgbench ceiling: minimal SKIP LOCKED queue, completed/s (inserted/s)",
                $"{F(M("pgbench", "queue_completed_per_s"))} ({F(M("pgbench", "queue_inserted_per_s"))})", "", double.NaN, "", null);
            foreach (var workers in new[] { 1, 2 })
            {
                var full = $"msg.w{workers}.full";
                if (results.ContainsKey(full))
                {
                    Row($"messages, {workers} worker(s): accepted/s ÷ pgbench insert commits/s", F(M(full, "accepted_per_s")),
                        F(M("pgbench", "insert_commits_per_s")), M(full, "accepted_per_s") / M("pgbench", "insert_commits_per_s"), "",
                            null);
                    Row($"messages, {workers} worker(s): handled/s ÷ pgbench queue completed/s", F(M(full, "handled_per_s")),
                        F(M("pgbench", "queue_completed_per_s")), M(full, "handled_per_s") / M("pgbench", "queue_completed_per_s"), "",
                            null);
                }
            }
        }

        foreach (var (key, label) in new[] { ("llm.seq", "sequential"), ("llm.conc", "concurrent") })
        {
            if (!results.ContainsKey(key))
            {
                continue;
            }

            var c = F(M(key, "concurrency"));
            Row($"llm vs echo, {label} ({c} at a time): accepted→done p50 / p99 ms, llm vs echo",
                $"{F(M(key, "llm_p50"), "0.0")} / {F(M(key, "llm_p99"), "0.0")}",
                $"{F(M(key, "echo_p50"), "0.0")} / {F(M(key, "echo_p99"), "0.0")} (echo)", double.NaN, "", null);
            Row($"llm run overhead, {label}: accepted→done − model server's time, p50 / p99 ms (model p50)",
                $"{F(M(key, "overhead_p50"), "0.0")} / {F(M(key, "overhead_p99"), "0.0")} ({F(M(key, "model_p50"), "0.0")})",
                $"{F(M(key, "echo_p50"), "0.0")} / {F(M(key, "echo_p99"), "0.0")} (echo)", M(key, "overhead_p50") / M(key, "echo_p50"),
                $"beyond echo: {F(M(key, "overhead_beyond_echo_p50"), "0.0")} ms at p50", null);
        }

        foreach (var (prefix, door) in new[] { ("stream", ""), ("stream.responses", " (/v1/responses)"), ("stream.ag-ui", " (AG-UI)") })
        {
            foreach (var streams in new[] { 1, 32 })
            {
                var key = $"{prefix}.s{streams}";
                if (results.ContainsKey(key))
                {
                    Row($"streaming{door}, {streams} stream(s): first delta at the client − model's time to first token, p50 / p99 ms",
                        Lat(key), $"model TTFT {F(M(key, "server_first_token_p50"), "0.0")}", double.NaN,
                        streams == 32 ? "p99 < 20 ms" : "", streams == 32 ? Check(M(key, "p99"), p => p < 20) : null);
                    string Leg(string leg) => $"{F(M(key, $"{leg}_p50"), "0.0")} / {F(M(key, $"{leg}_p99"), "0.0")}";
                    Row($"streaming{door}, {streams} stream(s), where it goes (p50 / p99 ms): accept (of which after the row's " +
                        "transaction began) | pickup | publish | deliver",
                        $"{Leg("accept")} ({Leg("accept_tx")}) \\| {Leg("pickup")} \\| {Leg("publish")} \\| {Leg("deliver")}", "",
                        double.NaN, "", null);
                }
            }
        }

        if (results.ContainsKey("waits.llm"))
        {
            Row($"runs that wait: {F(M("waits.llm", "runs"))} llm runs to as many agents, model latency " +
                $"{F(M("waits.llm", "latency_ms"))} ms, one worker: all done, ms (most in flight; worker KB per run in flight)",
                $"{F(M("waits.llm", "wall_ms"))} ({F(M("waits.llm", "in_flight_max"))}; {F(M("waits.llm", "kb_per_run_in_flight"))} KB)",
                $"{F(M("waits.echo", "wall_ms"))} (as many echo messages)", M("waits.llm", "wall_ms") / M("waits.echo", "wall_ms"),
                $"≤ 2 × latency + echo = {F(M("waits.llm", "goal_ms"))} ms",
                Check(M("waits.llm", "wall_ms"), wall => wall <= M("waits.llm", "goal_ms")));
        }

        if (results.ContainsKey("waits.delegate"))
        {
            var asked = M("waits.delegate", "delegations");
            Row($"runs that wait: {F(asked)} delegations at once (llm asker → llm peer, latency " +
                $"{F(M("waits.delegate", "latency_ms"))} ms): answered, slowest ms",
                $"{F(M("waits.delegate", "answered"))}, {F(M("waits.delegate", "max"))}", "", double.NaN,
                "all answered, slowest ≤ 4,000 ms",
                Check(M("waits.delegate", "max"), slowest => slowest <= 4000 && M("waits.delegate", "answered") == asked));
        }

        foreach (var (key, label, count) in new[]
            { ("waits.chain", "chains of depth 3", "chains"), ("waits.cycle", "cycles A → B → A", "cycles") })
        {
            if (results.ContainsKey(key))
            {
                Row($"runs that wait: {F(M(key, count))} {label}: answered, slowest ms",
                    $"{F(M(key, "answered"))}, {F(M(key, "max"))}", "",
                    double.NaN, "all answered", Check(M(key, "answered"), answered => answered == M(key, count)));
            }
        }

        foreach (var via in new[] { "submit", "api" })
        {
            var key = $"hot.{via}";
            if (results.ContainsKey(key))
            {
                var handled = M(key, "handled_per_s");
                Row($"one hot agent, {F(M(key, "messages"))} via {(via == "submit" ? "/submit (signed envelopes)" : "POST messages")}: " +
                    $"stored/s, handled/s",
                    $"{F(M(key, "accepted_per_s"))}, {F(handled)}", "Python uAgent 323 (issue 9, elsewhere)", handled / 323,
                    "≥ 1000/s and ≥ 3× 323", Check(handled, h => h >= 1000 && h >= 3 * 323));
            }
        }

        if (results.ContainsKey("hot.backlog"))
        {
            var drained = M("hot.backlog", "drained_per_s");
            Row($"one hot agent, {F(M("hot.backlog", "messages"))} from a backlog (posted via POST messages with no worker running): " +
                $"handled/s, first to last",
                F(drained), "Python uAgent 323 (issue 9, elsewhere)", drained / 323, "≥ 1000/s and ≥ 3× 323",
                    Check(drained, h => h >= 1000 && h >= 3 * 323));
        }

        var bound = M("hash", "max_logins_per_s");
        Row("POST /login: req/s vs cores ÷ hash cost", F(M("login.api", "rps"), "0.0"), F(bound, "0.0"), M("login.api", "rps") / bound,
            "bounded by the hash", null);
        Row("password hash (PBKDF2-SHA512, 100k): ms per verify", F(M("hash", "ms_per_verify"), "0.0"), "", double.NaN, "", null);
        Row("peak memory (VmHWM) MB: API / worker", $"{F(M("memory", "api_mb"))} / {F(M("memory", "worker_mb"))}",
            $"{F(M("memory", "baseline_mb"))} (baseline app)", double.NaN, "", null);
        Row("AppHost start → API and workers healthy, s", F(M("apphost", "seconds"), "0.0"), "", double.NaN, "", null);

        var errorRuns = results.Values.SelectMany(r => r).Where(r => r["errors"] is not null).ToList();
        var errors = errorRuns.Sum(r => r["errors"]!.GetValue<double>());
        Row($"errors (non-2xx, exceptions, dead or missing messages) in {errorRuns.Count} runs", F(errors), "", double.NaN, "0",
            errors == 0);

        var text = new StringBuilder();
        text.AppendLine("| measurement | product | baseline (same run) | ratio | target | |");
        text.AppendLine("|---|---|---|---|---|---|");
        foreach (var row in rows)
        {
            text.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        text.AppendLine();
        text.AppendLine(misses.Count == 0 ? "All targets met." : "Targets missed: " + string.Join("; ", misses) + ".");
        File.WriteAllText(args.Get("out"), text.ToString());
        Console.WriteLine(text);
        return Task.CompletedTask;
    }
}
