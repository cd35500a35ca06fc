using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using AgentCloud.Shared.UAgents;
using Dapper;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// What a worker sends to its OTLP endpoint: nothing while it only polls, a trace named for the work when
/// it handles a message. The worker is its built program, run against a database of its own on the
/// fixture's server (so no other test's messages reach it), exporting to a loopback OTLP/HTTP receiver.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed class WorkerTracingTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan IdleWindow = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task AnIdleWorkerSendsNoTracesAndAHandledMessageIsOneProcessSpan()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var database = await ScratchDatabase.CreateAsync(fixture.ConnectionString, ct);
        var (exitCode, output) = await AgentCloudFixture.RunMigratorAsync(database.ConnectionString, ct);
        Assert.True(exitCode == 0, output);

        const string seed = "worker tracing tests backend seed";
        await using var worker = await WorkerProcess.StartAsync(database.ConnectionString, seed, receiver.Url, ct);
        // Start-up is traced (its own span and statements); let that export, then watch the worker idle.
        await Task.Delay(TimeSpan.FromSeconds(3), ct);
        receiver.Clear();
        await Task.Delay(IdleWindow, ct);

        Assert.True(receiver.Traces.IsEmpty,
            $"An idle worker exported {receiver.Traces.Count} trace batch(es) in {IdleWindow.TotalSeconds} s; first: "
            + Printable(receiver.Traces.FirstOrDefault()));
        Assert.False(worker.HasExited, worker.Output);

        var peer = AgentIdentity.FromSeed($"worker tracing tests peer {Guid.NewGuid()}");
        var envelope = Envelope.Create(peer.Address, AgentIdentity.FromSeed(seed).Address, MessageModels.Message,
            """{"message": "traced"}""", expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds()).SignedBy(peer);
        using (var client = new HttpClient { BaseAddress = new Uri(worker.Url), Timeout = TimeSpan.FromSeconds(30) })
        using (var response = await client.PostAsync("/submit", new StringContent(envelope.ToJson(), Encoding.UTF8, "application/json"),
            ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var deadline = Stopwatch.StartNew();
        while (!receiver.Traces.Any(batch => Contains(batch, "process agent_inbox")))
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30),
                $"No 'process agent_inbox' span arrived ({receiver.Traces.Count} batches). Worker output: {worker.Output}");
            await Task.Delay(200, ct);
        }

        // The handling's statements are children of its span, in its trace; no statement is a trace of its own.
        await Task.Delay(TimeSpan.FromSeconds(1), ct);
        var spans = receiver.Traces.SelectMany(OtlpSpans.Read).ToList();
        var process = Assert.Single(spans, span => span.Name == "process agent_inbox");
        Assert.Equal(5, process.Kind); // SPAN_KIND_CONSUMER
        var statements = spans.Where(span => span.Scope == "Npgsql").ToList();
        Assert.Contains(statements, span => span.ParentSpanId == process.SpanId && span.TraceId == process.TraceId);
        Assert.All(statements, span => Assert.False(span.ParentSpanId.Length == 0, $"A root statement span: {span.Name}"));

        await using var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString)
            { Pooling = false }.ConnectionString);
        Assert.Equal("done", await db.ExecuteScalarAsync<string>("SELECT status FROM messages WHERE direction = 'inbound'"));
    }

    [Fact]
    public async Task AnLlmRunTracesItsModelCallsAndItsToolCallUnderTheMessagesProcessSpan()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        await using var receiver = await OtlpReceiver.StartAsync();
        await using var database = await ScratchDatabase.CreateAsync(fixture.ConnectionString, ct);
        var (exitCode, output) = await AgentCloudFixture.RunMigratorAsync(database.ConnectionString, ct);
        Assert.True(exitCode == 0, output);

        const string seed = "worker tracing tests llm backend seed";
        var script = fixture.Models.NewScript(
            new ToolCallsReply(("call_1", "recall", """{"key": "colour"}""")),
            new TextReply("Nothing remembered."));
        await using var worker = await WorkerProcess.StartAsync(database.ConnectionString, seed, receiver.Url, ct,
            new Dictionary<string, string> { ["ConnectionStrings__llm"] = fixture.Models.ConnectionString,
                ["Database__MaxPoolSize"] = "20" });
        // The worker's own backend agent, made an llm agent: the dashboard's view of a run is what is checked here.
        var address = AgentIdentity.FromSeed(seed).Address;
        await using (var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString)
            { Pooling = false }.ConnectionString))
        {
            var config = $$"""{"behavior": "llm", "instructions": "{{script.Marker}}", "tools": ["recall"]}""";
            Assert.Equal(1, await db.ExecuteAsync("UPDATE agents SET config = @config::jsonb WHERE address = @address",
                new { config, address }));
        }

        var peer = AgentIdentity.FromSeed($"worker tracing tests llm peer {Guid.NewGuid()}");
        var envelope = Envelope.Create(peer.Address, address, MessageModels.Message, """{"message": "what is my colour?"}""",
            expires: DateTimeOffset.UtcNow.AddSeconds(30).ToUnixTimeSeconds()).SignedBy(peer);
        using (var client = new HttpClient { BaseAddress = new Uri(worker.Url), Timeout = TimeSpan.FromSeconds(30) })
        using (var response = await client.PostAsync("/submit", new StringContent(envelope.ToJson(), Encoding.UTF8, "application/json"),
            ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var deadline = Stopwatch.StartNew();
        List<OtlpSpans.Span> spans;
        while (true)
        {
            spans = [.. receiver.Traces.SelectMany(OtlpSpans.Read)];
            if (spans.Count(s => s.Name == $"chat {ScriptedModelServer.Model}") >= 2 && spans.Any(s => s.Name == "process agent_inbox"))
            {
                break;
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(60),
                $"No llm spans arrived ({string.Join(", ", spans.Select(s => s.Name).Distinct())}). Worker output: {worker.Output}");
            await Task.Delay(200, ct);
        }

        var process = Assert.Single(spans, span => span.Name == "process agent_inbox");
        var tool = Assert.Single(spans, span => span.Name == "execute_tool recall");
        Assert.Equal("AgentCloud.Llm", tool.Scope);
        Assert.Equal((process.TraceId, process.SpanId), (tool.TraceId, tool.ParentSpanId));
        Assert.All(spans.Where(s => s.Name == $"chat {ScriptedModelServer.Model}"),
            chat => Assert.Equal((process.TraceId, process.SpanId), (chat.TraceId, chat.ParentSpanId)));
        Assert.Equal(2, script.Count);
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    private static string Printable(byte[]? body) =>
        body is null ? "" : new string(Encoding.UTF8.GetString(body).Select(c => char.IsControl(c) ? '.' : c).Take(600).ToArray());

    /// <summary>Just enough of the OTLP protobuf (ExportTraceServiceRequest → ResourceSpans → ScopeSpans → Span) to check
    /// parentage.</summary>
    private static class OtlpSpans
    {
        public sealed record Span(string Scope, string TraceId, string SpanId, string ParentSpanId, string Name, int Kind);

        public static IEnumerable<Span> Read(byte[] request)
        {
            foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1))
            {
                foreach (var scopeSpans in Fields(resourceSpans.Bytes).Where(f => f.Number == 2))
                {
                    var scopeFields = Fields(scopeSpans.Bytes).ToList();
                    var scope = scopeFields.Where(f => f.Number == 1).Select(f => Text(Fields(f.Bytes), 1)).FirstOrDefault() ?? "";
                    foreach (var span in scopeFields.Where(f => f.Number == 2))
                    {
                        var fields = Fields(span.Bytes).ToList();
                        yield return new Span(scope, Hex(fields, 1), Hex(fields, 2), Hex(fields, 4), Text(fields, 5),
                            (int)(fields.FirstOrDefault(f => f.Number == 6).Varint));
                    }
                }
            }
        }

        private readonly record struct Field(int Number, ulong Varint, byte[] Bytes);

        private static string Hex(IEnumerable<Field> fields, int number) =>
            Convert.ToHexStringLower(fields.FirstOrDefault(f => f.Number == number).Bytes ?? []);

        private static string Text(IEnumerable<Field> fields, int number) =>
            Encoding.UTF8.GetString(fields.FirstOrDefault(f => f.Number == number).Bytes ?? []);

        private static IEnumerable<Field> Fields(byte[] message)
        {
            var position = 0;
            while (position < message.Length)
            {
                var key = ReadVarint(message, ref position);
                var number = (int)(key >> 3);
                switch (key & 7)
                {
                    case 0:
                        yield return new Field(number, ReadVarint(message, ref position), []);
                        break;
                    case 1:
                        position += 8;
                        break;
                    case 2:
                        var length = (int)ReadVarint(message, ref position);
                        yield return new Field(number, 0, message[position..(position + length)]);
                        position += length;
                        break;
                    case 5:
                        position += 4;
                        break;
                    default:
                        throw new InvalidDataException($"Wire type {key & 7} at {position}.");
                }
            }
        }

        private static ulong ReadVarint(byte[] message, ref int position)
        {
            ulong value = 0;
            for (var shift = 0; ; shift += 7)
            {
                var b = message[position++];
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }
        }
    }

    /// <summary>An OTLP/HTTP receiver on loopback that keeps the body of every trace export.</summary>
    private sealed class OtlpReceiver : IAsyncDisposable
    {
        private readonly WebApplication app;

        private OtlpReceiver(WebApplication app) => this.app = app;

        public ConcurrentQueue<byte[]> Traces { get; private set; } = new();

        public string Url => app.Urls.First().TrimEnd('/');

        public void Clear() => Traces = new();

        public static async Task<OtlpReceiver> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            builder.Logging.ClearProviders();
            var app = builder.Build();
            var receiver = new OtlpReceiver(app);
            app.MapPost("/v1/{signal}", (Delegate)((HttpContext context) => receiver.ReceiveAsync(context)));
            await app.StartAsync();
            return receiver;
        }

        private async Task<IResult> ReceiveAsync(HttpContext context)
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            if (context.Request.RouteValues["signal"] as string == "traces")
            {
                Traces.Enqueue(body.ToArray());
            }

            // An empty Export…ServiceResponse: everything accepted.
            return Results.Bytes([], "application/x-protobuf");
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private sealed class ScratchDatabase(string adminConnectionString, string name) : IAsyncDisposable
    {
        public string ConnectionString { get; } =
            new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;

        public static async Task<ScratchDatabase> CreateAsync(string adminConnectionString, CancellationToken ct)
        {
            var name = $"tracing_{Guid.NewGuid():N}";
            await using var admin = new NpgsqlConnection(adminConnectionString);
            await admin.OpenAsync(ct);
            await admin.ExecuteAsync($"CREATE DATABASE {name}");
            return new ScratchDatabase(adminConnectionString, name);
        }

        public async ValueTask DisposeAsync()
        {
            await using var admin = new NpgsqlConnection(adminConnectionString);
            await admin.OpenAsync();
            await admin.ExecuteAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        }
    }

    /// <summary>The worker's built program, as the AppHost would run one replica.</summary>
    private sealed class WorkerProcess(Process process, string url, StringBuilder output) : IAsyncDisposable
    {
        public string Url { get; } = url;

        public bool HasExited => process.HasExited;

        public string Output
        {
            get
            {
                lock (output)
                {
                    return output.ToString();
                }
            }
        }

        public static async Task<WorkerProcess> StartAsync(string connectionString, string seed, string otlpUrl, CancellationToken ct,
            IReadOnlyDictionary<string, string>? environment = null)
        {
            var projectDirectory = Path.GetDirectoryName(new Projects.AgentCloud_AgentWorker().ProjectPath)!;
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}")
                ? "Release" : "Debug";
            var dll = Path.Combine(projectDirectory, "bin", configuration, "net10.0", "AgentCloud.AgentWorker.dll");
            using var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}";
            probe.Stop();

            var start = new ProcessStartInfo("dotnet", [dll])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = projectDirectory,
            };
            start.Environment["DOTNET_ENVIRONMENT"] = "Development";
            start.Environment["ASPNETCORE_URLS"] = url;
            start.Environment["ConnectionStrings__agentsdb"] = connectionString;
            start.Environment["BACKEND_AGENT_SEED"] = seed;
            start.Environment["Database__MaxPoolSize"] = "5";
            start.Environment["OTEL_SERVICE_NAME"] = "agent-worker-tracing-test";
            start.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpUrl;
            start.Environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            start.Environment["OTEL_BSP_SCHEDULE_DELAY"] = "200";
            start.Environment["OTEL_METRIC_EXPORT_INTERVAL"] = "60000";
            // Polling five times a second: plenty of chances for an idle loop to leave a trace.
            start.Environment["AgentWorker__Messaging__PollInterval"] = "00:00:00.200";
            start.Environment["AgentWorker__Outbox__PollInterval"] = "00:00:00.200";
            start.Environment["AgentWorker__Messaging__QueueDepthRefreshInterval"] = "00:00:01";
            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                start.Environment[name] = value;
            }

            var output = new StringBuilder();
            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, e) => Append(e.Data);
            process.ErrorDataReceived += (_, e) => Append(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var worker = new WorkerProcess(process, url, output);

            var started = Stopwatch.StartNew();
            while (!worker.Output.Contains("Agent worker started", StringComparison.Ordinal))
            {
                if (process.HasExited || started.Elapsed > TimeSpan.FromSeconds(60))
                {
                    var text = worker.Output;
                    await worker.DisposeAsync();
                    Assert.Fail($"The worker did not start: {text}");
                }

                await Task.Delay(200, ct);
            }

            return worker;

            void Append(string? line)
            {
                if (line is not null)
                {
                    lock (output)
                    {
                        output.AppendLine(line);
                    }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }
    }
}
