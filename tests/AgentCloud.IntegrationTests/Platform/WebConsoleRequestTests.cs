using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// The console's own routes, called as a forged form or a crafted link would call them, by a person who is
/// logged in (plain HTTP with the session cookie, no browser). The console runs as deployed (Production,
/// no developer exception page, which turns some exceptions into 4xx), a second process beside the
/// fixture's, talking to the fixture's API.
/// </summary>
[Collection(AgentCloudCollection.Name)]
public sealed partial class WebConsoleRequestTests(AgentCloudFixture fixture)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task OutsideDevelopmentAForgedLogoutAndAReturnUrlWithAControlCharacterAreRefusedNot500s()
    {
        var user = await fixture.CreateUserAsync();
        await using var console = await DeployedConsole.StartAsync(fixture.App.GetEndpoint("api", "http"));
        using var client = await console.LoggedInAsync(user);

        // No antiforgery token (a form posted from another site), with and without a body: refused, still logged in.
        foreach (var content in new HttpContent?[] { null, new FormUrlEncodedContent([new("returnUrl", "/agents")]) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/logout") { Content = content };
            request.Headers.TryAddWithoutValidation("Accept", "text/html,application/xhtml+xml");
            using var forged = await client.SendAsync(request);

            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }

        using (var stillIn = await client.GetAsync("/session-ended?returnUrl=/agents"))
        {
            Assert.Equal("/agents", stillIn.Headers.Location?.OriginalString);
        }

        // Browsers drop tabs and line breaks: "/\t/example.com" is "//example.com" to them.
        foreach (var returnUrl in new[] { "/%09/example.com", "/%0a/example.com", "/%0d%0a/example.com", "/%5c%09example.com",
            "/agents%09/x" })
        {
            using var response = await client.GetAsync("/session-ended?returnUrl=" + returnUrl);

            Assert.True(response.StatusCode == HttpStatusCode.Redirect, $"{returnUrl}: {(int)response.StatusCode}");
            Assert.Equal("/agents", response.Headers.Location!.OriginalString);
        }

        // The layout's own form, token included, still logs out.
        var page = await client.GetStringAsync("/agents");
        using var logout = await client.PostAsync("/logout", new FormUrlEncodedContent(
            [new("__RequestVerificationToken", WebUtility.HtmlDecode(DeployedConsole.AntiforgeryField().Match(page).Groups[1].Value))]));
        Assert.Equal("/login?loggedOut=true", logout.Headers.Location?.OriginalString);
        using var ended = await client.GetAsync("/session-ended?returnUrl=/agents");
        Assert.StartsWith("/login?expired=true", ended.Headers.Location?.OriginalString);
    }

    /// <summary>The console's build output run with <c>ASPNETCORE_ENVIRONMENT=Production</c> on a loopback port of its choosing.</summary>
    private sealed partial class DeployedConsole(Process process, Uri url) : IAsyncDisposable
    {
        public static async Task<DeployedConsole> StartAsync(Uri api)
        {
            var project = Path.GetDirectoryName(new Projects.AgentCloud_Web().ProjectPath)!;
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}")
                ? "Release" : "Debug";
            var output = Path.Combine(project, "bin", configuration, "net10.0");
            var dll = Path.Combine(output, "AgentCloud.Web.dll");
            Assert.True(File.Exists(dll), $"{dll} is not built");
            var start = new ProcessStartInfo("dotnet", [dll])
            {
                WorkingDirectory = output,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment =
                {
                    ["ASPNETCORE_ENVIRONMENT"] = "Production",
                    ["DOTNET_ENVIRONMENT"] = "Production",
                    ["ASPNETCORE_URLS"] = "http://127.0.0.1:0",
                    ["AgentCloud__ApiUrl"] = api.ToString(),
                    ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "",
                    ["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information",
                },
            };
            var process = Process.Start(start)!;
            process.ErrorDataReceived += (_, _) => { };
            process.BeginErrorReadLine();
            using var timeout = new CancellationTokenSource(StartTimeout);
            try
            {
                while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
                {
                    if (ListeningOn().Match(line) is { Success: true } match)
                    {
                        // The rest of its output is drained so the process never blocks on a full pipe.
                        _ = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
                        return new DeployedConsole(process, new Uri(match.Groups[1].Value));
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }

            process.Kill(entireProcessTree: true);
            throw new Xunit.Sdk.XunitException("The console did not say where it listens.");
        }

        /// <summary>The login form posted as a browser posts it (antiforgery token and cookie included).</summary>
        public async Task<HttpClient> LoggedInAsync(TestUser user)
        {
            var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = new CookieContainer() })
            {
                BaseAddress = url,
                Timeout = TimeSpan.FromSeconds(30),
            };
            var page = await client.GetStringAsync("/login");
            var token = AntiforgeryField().Match(page).Groups[1].Value;
            using var login = await client.PostAsync("/login", new FormUrlEncodedContent(
            [
                new("__RequestVerificationToken", WebUtility.HtmlDecode(token)),
                new("_handler", "login"),
                new("Input.Username", user.Username),
                new("Input.Password", user.Password),
            ]));
            Assert.True(login.StatusCode == HttpStatusCode.Redirect, $"login answered {(int)login.StatusCode}");
            return client;
        }

        public async ValueTask DisposeAsync()
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            process.Dispose();
        }

        [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
        private static partial Regex ListeningOn();

        [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
        public static partial Regex AntiforgeryField();
    }
}
