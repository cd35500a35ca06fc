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
        using (var response = await client.PostAsync("/submit", new StringContent(envelope.ToJson(), Encoding.UTF8, "application/json"), ct))
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

        await using var db = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ConnectionString);
        Assert.Equal("done", await db.ExecuteScalarAsync<string>("SELECT status FROM messages WHERE direction = 'inbound'"));
    }

    private static bool Contains(byte[] body, string text) => body.AsSpan().IndexOf(Encoding.UTF8.GetBytes(text)) >= 0;

    private static string Printable(byte[]? body) =>
        body is null ? "" : new string(Encoding.UTF8.GetString(body).Select(c => char.IsControl(c) ? '.' : c).Take(600).ToArray());

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

        public static async Task<WorkerProcess> StartAsync(string connectionString, string seed, string otlpUrl, CancellationToken ct)
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
