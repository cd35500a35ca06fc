using System.Security.Claims;
using AgentCloud.Web.Api;
using AgentCloud.Web.Components;
using AgentCloud.Web.Components.Shared;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.HttpOverrides;

namespace AgentCloud.Web;

public static class WebConsoleExtensions
{
    /// <summary>The console's one HTTP health answer: the process serves pages (the API has its own readiness).</summary>
    public const string HealthPath = "/health";

    public static WebApplicationBuilder AddWebConsole(this WebApplicationBuilder builder)
    {
        builder.Services.AddRazorComponents().AddInteractiveServerComponents();
        builder.Services.AddCascadingAuthenticationState();
        builder.Services.AddHttpContextAccessor();

        // The API's token lives in the authentication cookie (encrypted by Data Protection, HttpOnly), so a reload
        // keeps the session and no script can read it. The cookie ends when the token does.
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(options =>
            {
                options.Cookie.Name = "agentcloud.session";
                options.Cookie.HttpOnly = true;
                options.Cookie.SameSite = SameSiteMode.Lax;
                options.LoginPath = "/login";
                options.LogoutPath = "/logout";
                options.ReturnUrlParameter = "returnUrl";
                options.SlidingExpiration = false;
            });
        builder.Services.AddAuthorization();

        // The browser's address as seen through a trusted proxy (loopback by default), passed on to the API so its
        // login and signup rate limits count each person, not the console.
        builder.Services.Configure<ForwardedHeadersOptions>(options => options.ForwardedHeaders = ForwardedHeaders.XForwardedFor);

        builder.Services.AddScoped<SessionToken>();
        // No resilience handler: it would retry a POST of a message (sent twice) and cut server-sent event streams
        // at its total timeout. Each call sets its own deadline instead.
#pragma warning disable EXTEXP0001 // RemoveAllResilienceHandlers is marked experimental
        builder.Services.AddHttpClient<AgentCloudApi>(client =>
            {
                client.BaseAddress = new Uri(builder.Configuration["AgentCloud:ApiUrl"] ?? "https+http://api");
                client.Timeout = Timeout.InfiniteTimeSpan;
            })
            .RemoveAllResilienceHandlers();
#pragma warning restore EXTEXP0001
        return builder;
    }

    public static WebApplication UseWebConsole(this WebApplication app)
    {
        app.UseForwardedHeaders();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler(new ExceptionHandlerOptions
            {
                ExceptionHandlingPath = "/error",
                CreateScopeForErrors = true,
                // A request the server could not read (a bad form, a body too large) keeps its 4xx, as in Development.
                StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode
                    : StatusCodes.Status500InternalServerError,
            });
        }

        app.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true);
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseAntiforgery();
        return app;
    }

    public static WebApplication MapWebConsole(this WebApplication app)
    {
        app.MapGet(HealthPath, () => Results.Ok(new { status = "healthy" })).AllowAnonymous();
        app.MapStaticAssets();
        app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

        // Where a page goes when the API refuses the token: the cookie is dropped only if the API really refuses it (so a
        // link from elsewhere cannot log anyone out), then the login page brings the person back.
        app.MapGet("/session-ended", async (HttpContext context, AgentCloudApi api, string? returnUrl) =>
        {
            try
            {
                await api.MeAsync(context.RequestAborted);
                return Results.LocalRedirect(ReturnUrls.Local(returnUrl));
            }
            catch (SessionEndedException)
            {
                await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                return Results.LocalRedirect($"/login?expired=true&returnUrl={Uri.EscapeDataString(ReturnUrls.Local(returnUrl))}");
            }
        });

        // A form post from the layout: end the token at the API, then the cookie. The antiforgery check is the
        // handler's own, so a forged or stale post is a 400 that logs nobody out (the middleware's refusal is an
        // exception, a 500 and a stack trace outside Development).
        app.MapPost("/logout", async (HttpContext context, AgentCloudApi api, IAntiforgery antiforgery) =>
        {
            if (!await antiforgery.IsRequestValidAsync(context))
            {
                return Results.Text("This form has expired: reload the page and log out again.",
                    statusCode: StatusCodes.Status400BadRequest);
            }

            if (context.User.Identity?.IsAuthenticated == true)
            {
                await api.LogoutAsync(context.RequestAborted);
            }

            await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect("/login?loggedOut=true");
        }).DisableAntiforgery();
        return app;
    }

    public static ClaimsPrincipal SessionPrincipal(string username, string token) =>
        new(new ClaimsIdentity(
            [
                new Claim(ClaimTypes.Name, username),
                new Claim(SessionToken.ClaimType, token),
            ],
            CookieAuthenticationDefaults.AuthenticationScheme));
}
