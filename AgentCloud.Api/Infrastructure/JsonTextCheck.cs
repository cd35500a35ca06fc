using System.Text.Json;
using AgentCloud.Shared.Data;

namespace AgentCloud.Api.Infrastructure;

/// <summary>
/// A JSON body whose strings hold an escaped lone surrogate (<c>"x\ud800y"</c>) is refused with a 400
/// before any endpoint binds it: .NET's JSON cannot turn such a string into text, and binding it would
/// fail as a server error. One check for every route, whatever field the string is in.
/// </summary>
public static class JsonTextCheck
{
    public static WebApplication UseJsonTextCheck(this WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) != true
                || context.Request.ContentLength == 0)
            {
                await next(context);
                return;
            }

            // Behind the body limit: at most the API's limit is buffered (a larger body fails the read with its 413).
            context.Request.EnableBuffering();
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
            context.Request.Body.Position = 0;
            if (HasLoneSurrogate(buffer.GetBuffer().AsSpan(0, (int)buffer.Length)))
            {
                await ProblemResponses.WriteAsync(context, StatusCodes.Status400BadRequest,
                    $"The request {StorableText.SurrogateProblem}.");
                return;
            }

            await next(context);
        });
        return app;
    }

    /// <summary>Whether a string or property name in <paramref name="json"/> escapes a lone surrogate. Malformed JSON is the endpoint's to
    /// refuse.</summary>
    public static bool HasLoneSurrogate(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256, CommentHandling = JsonCommentHandling.Skip });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
                {
                    try
                    {
                        if (StorableText.ProblemWith(reader.GetString()) == StorableText.SurrogateProblem)
                        {
                            return true;
                        }
                    }
                    catch (InvalidOperationException)
                    {
                        return true;
                    }
                }
            }
        }
        catch (JsonException)
        {
        }

        return false;
    }
}
