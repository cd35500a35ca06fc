using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

// Steady mixed traffic against the API from a process of its own:
//   dotnet AgentCloud.LoadDriver.dll <api-url> <seconds> <requests-per-second>
// Prints one JSON object with the figures on its last line of output.
if (args.Length < 3 || !Uri.TryCreate(args[0], UriKind.Absolute, out var api)
    || !int.TryParse(args[1], out var seconds) || !double.TryParse(args[2], System.Globalization.CultureInfo.InvariantCulture,
        out var rate))
{
    Console.Error.WriteLine("usage: AgentCloud.LoadDriver <api-url> <seconds> <requests-per-second>");
    return 2;
}

var driver = new LoadDriver.Driver(api);
await driver.SetUpAsync();
await driver.RunAsync(TimeSpan.FromSeconds(seconds), rate);
Console.WriteLine(driver.Figures().ToJsonString());
return 0;

namespace LoadDriver
{
    internal sealed class Driver(Uri api)
    {
        private const int MaxInFlight = 64;
        private const int MessageAgents = 12;

        private readonly HttpClient http = new(new SocketsHttpHandler
            { MaxConnectionsPerServer = MaxInFlight, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = api,
            Timeout = TimeSpan.FromSeconds(30),
        };

        private readonly List<User> users = [];
        private readonly ConcurrentBag<Guid> messageIds = [];
        private readonly ConcurrentDictionary<string, int> requests = new();
        private readonly ConcurrentDictionary<string, int> statuses = new();
        private readonly ConcurrentQueue<string> unexpected = new();
        private readonly ConcurrentBag<double> latencies = [];
        private readonly ConcurrentQueue<(User Owner, int Id)> scratchAgents = new();
        private readonly ConcurrentDictionary<string, ConcurrentBag<double>> latenciesByKind = new();
        private readonly List<User> owners = [];
        private int nextAddress;
        private int transportErrors;
        private int skipped;

        private sealed record User(string Username, string Password, string Address, string Token, List<int> Agents);

        /// <summary>Each sign-up and login comes from its own forwarded address, as distinct clients do.</summary>
        private string NextAddress()
        {
            var n = Interlocked.Increment(ref nextAddress) % 60_000;
            return $"198.19.{n / 250}.{n % 250 + 1}";
        }

        public async Task SetUpAsync()
        {
            for (var i = 0; i < 4; i++)
            {
                users.Add(await SignUpAsync(track: false) ?? throw new InvalidOperationException("set-up sign-up failed"));
            }

            owners.AddRange(users);

            for (var i = 0; i < MessageAgents; i++)
            {
                var user = users[i % users.Count];
                using var response = await SendAsync(HttpMethod.Post, "/agents", user,
                    new { name = $"soak echo {i}", config = new { behavior = "echo" } });
                response.EnsureSuccessStatusCode();
                user.Agents.Add((await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!.GetValue<int>());
            }
        }

        public async Task RunAsync(TimeSpan duration, double rate)
        {
            var clock = Stopwatch.StartNew();
            var gate = new SemaphoreSlim(MaxInFlight);
            var running = new List<Task>();
            var random = new Random(42);
            for (long i = 0; ; i++)
            {
                var due = TimeSpan.FromSeconds(i / rate);
                if (due >= duration)
                {
                    break;
                }

                if (due > clock.Elapsed)
                {
                    await Task.Delay(due - clock.Elapsed);
                }

                // An open loop: a request that cannot start because too many are in flight is counted, not queued.
                if (!gate.Wait(0))
                {
                    Interlocked.Increment(ref skipped);
                    continue;
                }

                var roll = random.Next(100);
                User user;
                lock (users)
                {
                    // Agent work goes to the owners of the echo agents; the rest to anyone signed up so far.
                    user = roll is >= 20 and < 92 ? owners[random.Next(owners.Count)] : users[random.Next(users.Count)];
                }

                running.Add(Task.Run(async () =>
                {
                    try
                    {
                        await OneAsync(roll, user);
                    }
                    finally
                    {
                        gate.Release();
                    }
                }));
                running.RemoveAll(t => t.IsCompleted);
            }

            await Task.WhenAll(running);
        }

        private async Task OneAsync(int roll, User user)
        {
            var agent = user.Agents.Count > 0 ? user.Agents[roll % user.Agents.Count] : (int?)null;
            switch (roll)
            {
                case < 4:
                    var added = await SignUpAsync(track: true);
                    if (added is not null)
                    {
                        lock (users)
                        {
                            if (users.Count < 40)
                            {
                                users.Add(added);
                            }
                        }
                    }

                    break;
                case < 12:
                    await TimedAsync("login", HttpMethod.Post, "/login", null, new { username = user.Username, password = user.Password },
                        [HttpStatusCode.OK], NextAddress());
                    break;
                case < 20:
                    var created = await TimedAsync("create_agent", HttpMethod.Post, "/agents", user,
                        new { name = "soak scratch", config = new { note = "x" } },
                        [HttpStatusCode.Created]);
                    if (created?["id"] is { } id)
                    {
                        scratchAgents.Enqueue((user, id.GetValue<int>()));
                    }

                    break;
                case < 24:
                    await TimedAsync("list_agents", HttpMethod.Get, "/agents?limit=20", user, null, [HttpStatusCode.OK]);
                    break;
                case < 30 when agent is not null:
                    await TimedAsync("get_agent", HttpMethod.Get, $"/agents/{agent}", user, null, [HttpStatusCode.OK]);
                    break;
                case < 34 when agent is not null:
                    await TimedAsync("update_agent", HttpMethod.Put, $"/agents/{agent}", user, new { name = $"soak echo {roll}" },
                        [HttpStatusCode.OK]);
                    break;
                case < 38:
                    // Deletes only scratch agents: the echo agents' messages must all be handled at the end.
                    if (scratchAgents.TryDequeue(out var scratch))
                    {
                        await TimedAsync("delete_agent", HttpMethod.Delete, $"/agents/{scratch.Id}", scratch.Owner, null,
                            [HttpStatusCode.NoContent]);
                    }

                    break;
                case < 70 when agent is not null:
                    var accepted = await TimedAsync("post_message", HttpMethod.Post, $"/agents/{agent}/messages", user,
                        new { payload = new { n = roll, at = DateTime.UtcNow } }, [HttpStatusCode.Accepted]);
                    if (accepted?["id"] is { } messageId)
                    {
                        messageIds.Add(Guid.Parse(messageId.GetValue<string>()));
                    }

                    break;
                case < 76 when agent is not null:
                    await TimedAsync("list_messages", HttpMethod.Get, $"/agents/{agent}/messages?limit=20", user, null,
                        [HttpStatusCode.OK]);
                    break;
                case < 92 when agent is not null:
                    await TimedAsync("read_logs", HttpMethod.Get, $"/agents/{agent}/logs?limit=50", user, null, [HttpStatusCode.OK]);
                    break;
                default:
                    await TimedAsync("users_me", HttpMethod.Get, "/users/me", user, null, [HttpStatusCode.OK]);
                    break;
            }
        }

        private async Task<User?> SignUpAsync(bool track)
        {
            var username = $"soak_{Guid.NewGuid():N}"[..30];
            const string password = "soak test password 123";
            var address = NextAddress();
            var signup = track
                ? await TimedAsync("signup", HttpMethod.Post, "/signup", null,
                    new { username, email = $"{username}@example.com", password },
                    [HttpStatusCode.Created], address)
                : await SendForJsonAsync(HttpMethod.Post, "/signup", null, new { username, email = $"{username}@example.com", password },
                    address);
            if (signup is null)
            {
                return null;
            }

            var login = track
                ? await TimedAsync("login", HttpMethod.Post, "/login", null, new { username, password }, [HttpStatusCode.OK], NextAddress())
                : await SendForJsonAsync(HttpMethod.Post, "/login", null, new { username, password }, NextAddress());
            return login?["access_token"] is { } token ? new User(username, password, address, token.GetValue<string>(), []) : null;
        }

        private async Task<JsonObject?> SendForJsonAsync(HttpMethod method, string path, User? user, object? body, string? address)
        {
            using var response = await SendAsync(method, path, user, body, address);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonObject>() : null;
        }

        /// <summary>One counted request: its kind, status and latency; the body as JSON when the status was expected.</summary>
        private async Task<JsonObject?> TimedAsync(string kind, HttpMethod method, string path, User? user, object? body,
            HttpStatusCode[] expected, string? address = null)
        {
            requests.AddOrUpdate(kind, 1, (_, n) => n + 1);
            var clock = Stopwatch.StartNew();
            try
            {
                using var response = await SendAsync(method, path, user, body, address);
                var text = await response.Content.ReadAsStringAsync();
                latencies.Add(clock.Elapsed.TotalMilliseconds);
                latenciesByKind.GetOrAdd(kind, _ => []).Add(clock.Elapsed.TotalMilliseconds);
                statuses.AddOrUpdate(((int)response.StatusCode).ToString(), 1, (_, n) => n + 1);
                if (!expected.Contains(response.StatusCode))
                {
                    if (unexpected.Count < 20)
                    {
                        unexpected.Enqueue($"{kind} {method} {path}: {(int)response.StatusCode} {text[..Math.Min(text.Length, 300)]}");
                    }

                    return null;
                }

                return text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonNode.Parse(text)?.AsObject() : null;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or IOException)
            {
                Interlocked.Increment(ref transportErrors);
                if (unexpected.Count < 20)
                {
                    unexpected.Enqueue($"{kind} {method} {path}: {exception.GetType().Name} {exception.Message}");
                }

                return null;
            }
        }

        private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, User? user, object? body, string? address = null)
        {
            using var request = new HttpRequestMessage(method, path);
            if (body is not null)
            {
                request.Content = JsonContent.Create(body);
            }

            if (user is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", user.Token);
            }

            request.Headers.Add("X-Forwarded-For", address ?? user?.Address ?? NextAddress());
            return await http.SendAsync(request);
        }

        public JsonObject Figures()
        {
            static double Percentile(double[] sorted, double p) =>
                sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);
            var sorted = latencies.Order().ToArray();
            var byKind = new JsonObject();
            foreach (var (kind, values) in latenciesByKind.OrderBy(p => p.Key))
            {
                var ordered = values.Order().ToArray();
                byKind[kind] = new JsonObject { ["p50"] = Percentile(ordered, 0.50), ["p99"] = Percentile(ordered, 0.99) };
            }

            return new JsonObject
            {
                ["requests"] = JsonSerializer.SerializeToNode(requests.OrderBy(p => p.Key).ToDictionary()),
                ["total"] = requests.Values.Sum(),
                ["statuses"] = JsonSerializer.SerializeToNode(statuses.OrderBy(p => p.Key).ToDictionary()),
                ["server_errors"] = statuses.Where(p => p.Key.StartsWith('5')).Sum(p => p.Value),
                ["transport_errors"] = transportErrors,
                ["skipped"] = skipped,
                ["unexpected"] = JsonSerializer.SerializeToNode(unexpected.ToArray()),
                ["latency_ms"] = new JsonObject { ["p50"] = Percentile(sorted, 0.50), ["p99"] = Percentile(sorted, 0.99),
                    ["max"] = Math.Round(sorted.LastOrDefault(), 1) },
                ["latency_ms_by_kind"] = byKind,
                ["users"] = users.Count,
                ["message_ids"] = JsonSerializer.SerializeToNode(messageIds.ToArray()),
            };
        }
    }
}
