using AgentCloud.Web.Api;
using Microsoft.AspNetCore.Components;

namespace AgentCloud.Web.Components.Shared;

/// <summary>
/// A signed-in page: calls the API and turns its answers into what the page shows. An ended session goes to the
/// login page with the way back; a 404 shows the not-found message; anything else a one-line error.
/// </summary>
public abstract class ConsolePage : ComponentBase
{
    [Inject] protected AgentCloudApi Api { get; set; } = default!;

    [Inject] protected NavigationManager Navigation { get; set; } = default!;

    protected bool IsNotFound { get; set; }

    protected string? Problem { get; set; }

    /// <summary>"true" once the page runs interactively (prerendered HTML cannot act yet); tests and styles wait for it.</summary>
    protected string Ready => RendererInfo.IsInteractive ? "true" : "false";

    protected async Task<bool> TryAsync(Func<Task> action)
    {
        try
        {
            await action();
            return true;
        }
        catch (SessionEndedException)
        {
            ToLogin();
        }
        catch (ApiProblemException problem) when (problem.IsNotFound)
        {
            IsNotFound = true;
        }
        catch (ApiProblemException problem)
        {
            Problem = problem.Message;
        }
        catch (HttpRequestException exception)
        {
            Problem = $"The API cannot be reached ({exception.Message}).";
        }

        return false;
    }

    protected void ToLogin()
    {
        var here = "/" + Navigation.ToBaseRelativePath(Navigation.Uri);
        Navigation.NavigateTo($"/session-ended?returnUrl={Uri.EscapeDataString(here)}", forceLoad: true);
    }

    protected static string When(DateTime? time) =>
        time is { } t ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture) : "—";
}
