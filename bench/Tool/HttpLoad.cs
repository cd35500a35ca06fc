using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace Bench;

/// <summary>Fixed concurrency, one connection per worker, every latency kept (after the warm-up).</summary>
public static class HttpLoad
{
    public static async Task RunAsync(Args args)
    {
        var url = new Uri(args.Get("url"));
        var method = new HttpMethod(args.Optional("method") ?? "GET");
        var body = args.Optional("body");
        var headers = args.All("header").Select(h => h.Split(':', 2)).Select(h => (Name: h[0].Trim(), Value: h[1].Trim())).ToList();
        var concurrency = args.Int("concurrency", 32);
        var warmup = TimeSpan.FromSeconds(args.Double("warmup", 5));
        var duration = TimeSpan.FromSeconds(args.Double("duration", 20));

        using var client = new HttpClient(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = concurrency,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        }) { Timeout = TimeSpan.FromSeconds(30) };

        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var stopAt = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var statuses = new System.Collections.Concurrent.ConcurrentDictionary<int, int>();
        var exceptions = 0;
        var firstError = (string?)null;

        var workers = Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            var latencies = new List<double>(64 * 1024);
            while (true)
            {
                var sent = Stopwatch.GetTimestamp();
                if (sent >= stopAt)
                {
                    return latencies;
                }

                using var request = new HttpRequestMessage(method, url);
                foreach (var (name, value) in headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                if (body is not null)
                {
                    request.Content = new StringContent(body, Encoding.UTF8, "application/json");
                }

                int status;
                try
                {
                    using var response = await client.SendAsync(request);
                    await response.Content.CopyToAsync(Stream.Null);
                    status = (int)response.StatusCode;
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref exceptions);
                    firstError ??= e.Message;
                    await Task.Delay(10);
                    continue;
                }

                var done = Stopwatch.GetTimestamp();
                if (sent >= measureFrom)
                {
                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                    latencies.Add((done - sent) * 1000.0 / Stopwatch.Frequency);
                }
                else if (status is < 200 or >= 300)
                {
                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                }
            }
        })).ToList();

        var all = (await Task.WhenAll(workers)).SelectMany(l => l).Order().ToList();
        var elapsed = (Stopwatch.GetTimestamp() - measureFrom) / (double)Stopwatch.Frequency;
        var errors = statuses.Where(s => s.Key is < 200 or >= 300).Sum(s => s.Value) + exceptions;
        var result = new JsonObject
        {
            ["name"] = args.Get("name"),
            ["requests"] = all.Count,
            ["rps"] = all.Count / elapsed,
            ["p50"] = Stats.Percentile(all, 50),
            ["p95"] = Stats.Percentile(all, 95),
            ["p99"] = Stats.Percentile(all, 99),
            ["errors"] = errors,
            ["statuses"] = string.Join(" ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}x{s.Value}")),
            ["concurrency"] = concurrency,
        };
        if (firstError is not null)
        {
            result["first_exception"] = firstError;
        }

        Stats.Write(args.Get("out"), result);
    }
}
