using System.Globalization;
using AgentCloud.Api.Features.Messages.Events;
using AgentCloud.Api.Infrastructure;
using AgentCloud.Shared.Quotas;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.Responses.Get;

/// <summary>A response (a message of one of the caller's agents) as it stands; <c>?stream=true</c> replays its events and follows
/// it.</summary>
public sealed class Endpoint(ResponseStore store, ResponseEventStream events, HeldStreams streams) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/v1/responses/{response_id}");
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "Responses API: a response of the caller's, as it stands (poll a background one here)";
            s.Description = "stream=true replays the response's events and follows it to its end; starting_after=N resumes after " +
                "the event with that sequence_number.";
            s.Responses[200] = "The response object, or its events as server-sent events.";
            s.Responses[400] = "starting_after is not a whole number (OpenAI-style error).";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
            s.Responses[403] = "The API key lacks agents:read (OpenAI-style error).";
            s.Responses[404] = "No such response of the caller (OpenAI-style error).";
            s.Responses[429] = "stream=true while the caller holds as many event streams as it may: see Retry-After (OpenAI-style " +
                "insufficient_quota error, code event_streams_per_user).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.AgentsRead))
        {
            return;
        }

        long? startingAfter = null;
        if (Query<string?>("starting_after", isRequired: false) is { } after)
        {
            if (!long.TryParse(after, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
            {
                await ResponsesDoor.BadRequestAsync(HttpContext, "starting_after must be a whole number (a sequence_number).",
                    "starting_after");
                return;
            }

            startingAfter = number;
        }

        if (await ResponsesDoor.FindResponseAsync(HttpContext, store, userId, Route<string>("response_id"), null, ct) is not { } message)
        {
            return;
        }

        var response = await ResponsesDoor.ResponseAsync(store, userId, message, ct);
        if (Query<string?>("stream", isRequired: false) is "true")
        {
            HeldStreams.Slot slot;
            try
            {
                slot = streams.Hold(userId);
            }
            catch (QuotaExceededException quota)
            {
                await OpenAIErrors.WriteQuotaAsync(HttpContext, quota);
                return;
            }

            using var held = slot;

            var echo = new ResponseEcho(response["model"]!.GetValue<string>(), null, response["conversation"]?["id"]?.GetValue<string>(),
                false, null);
            await events.WriteAsync(HttpContext, message, echo, startingAfter, ct);
            return;
        }

        await Send.StringAsync(response.ToJsonString(), contentType: "application/json", cancellation: ct);
    }
}
