using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace AgentCloud.IntegrationTests;

/// <summary>
/// Debian's Chromium, driven by Playwright, on the console of the fixture's AppHost. The browser reaches loopback
/// only: every other host name fails to resolve and anything else would go to a proxy on a closed loopback port.
/// </summary>
public sealed class ConsoleBrowser : IAsyncDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public static readonly float Timeout = 30_000;
    private static int nextClient;

    private readonly IPlaywright playwright;
    private readonly IBrowser browser;

    private ConsoleBrowser(IPlaywright playwright, IBrowser browser, IBrowserContext context, IPage page, Uri baseUrl)
    {
        this.playwright = playwright;
        this.browser = browser;
        Context = context;
        Page = page;
        BaseUrl = baseUrl;
    }

    public IBrowserContext Context { get; }

    public IPage Page { get; }

    public Uri BaseUrl { get; }

    public static string ScreenshotDirectory => Path.Combine(AppContext.BaseDirectory, "screenshots");

    /// <summary>How long the console may take to answer its health check after the fixture's start (it waits for the API).</summary>
    public static readonly TimeSpan WebStartTimeout = TimeSpan.FromMinutes(3);

    public static async Task<ConsoleBrowser> OpenAsync(AgentCloudFixture fixture, int width = 1280, int height = 860)
    {
        // Awaited here rather than in the fixture, so the tests that do not use the console do not wait for it.
        using (var timeout = new CancellationTokenSource(WebStartTimeout))
        {
            await fixture.App.Services.GetRequiredService<ResourceNotificationService>().WaitForResourceHealthyAsync("web", timeout.Token);
        }

        var baseUrl = fixture.App.GetEndpoint("web", "http");
        var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new()
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", // the tests run as root
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
                "--proxy-server=http://127.0.0.1:9",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-domain-reliability",
                "--no-pings",
            ],
        });
        var n = Interlocked.Increment(ref nextClient);
        var context = await browser.NewContextAsync(new()
        {
            BaseURL = baseUrl.ToString(),
            ViewportSize = new() { Width = width, Height = height },
            // The console passes the browser's address on to the API: each test is its own client for the rate limits.
            ExtraHTTPHeaders = new Dictionary<string, string> { ["X-Forwarded-For"] = $"198.19.{n / 250}.{n % 250 + 1}" },
        });
        context.SetDefaultTimeout(Timeout);
        Assertions.SetDefaultExpectTimeout(Timeout);
        var page = await context.NewPageAsync();
        return new ConsoleBrowser(playwright, browser, context, page, baseUrl);
    }

    public async Task LogInAsync(TestUser user, string path = "login")
    {
        await Page.GotoAsync(path);
        await Page.GetByLabel("Username").FillAsync(user.Username);
        await Page.GetByLabel("Password").FillAsync(user.Password);
        await Page.GetByRole(AriaRole.Button, new() { Name = "Log in" }).ClickAsync();
        await Assertions.Expect(Page.GetByRole(AriaRole.Button, new() { Name = "Log out" })).ToBeVisibleAsync();
    }

    /// <summary>
    /// Waits until the interactive part <paramref name="selector"/> runs (its prerendered HTML cannot act yet, and
    /// what is typed into it before would be lost when the component takes over).
    /// </summary>
    public Task WaitUntilInteractiveAsync(string selector) => Assertions.Expect(Page.Locator(selector))
        .ToHaveAttributeAsync("data-ready", "true");

    public async Task ScreenshotAsync(string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await Page.ScreenshotAsync(new() { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    public async ValueTask DisposeAsync()
    {
        await Context.CloseAsync();
        await browser.CloseAsync();
        playwright.Dispose();
    }
}
