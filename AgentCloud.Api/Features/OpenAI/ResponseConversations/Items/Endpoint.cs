using System.Globalization;
using System.Text.Json.Nodes;
using AgentCloud.Api.Features.OpenAI.Responses;
using AgentCloud.Api.Infrastructure;
using FastEndpoints;

namespace AgentCloud.Api.Features.OpenAI.ResponseConversations.Items;

/// <summary>
/// A conversation's items: each response's input message, then its output (text, the tools the agent called and their
/// results), from the messages of the conversation's session and their stored steps.
/// </summary>
public sealed class Endpoint(ResponseStore store) : EndpointWithoutRequest
{
    public override void Configure()
    {
        Get("/v1/conversations/{conversation_id}/items");
        AllowAnonymous();
        Summary(s =>
        {
            s.Summary = "Conversations API: a conversation's items, a page at a time";
            s.Description = "limit (1-100, default 20), order (desc, the default, or asc), after (an item id). The items of the " +
                $"newest {ResponseStore.MaxConversationMessages} responses.";
            s.Responses[200] = "{object: list, data: [items], first_id, last_id, has_more}.";
            s.Responses[400] = "A bad limit, order or after (OpenAI-style error).";
            s.Responses[401] = "No valid bearer token (OpenAI-style error).";
            s.Responses[403] = "The API key lacks agents:read (OpenAI-style error).";
            s.Responses[404] = "No such conversation of the caller (OpenAI-style error).";
        });
    }

    public override async Task HandleAsync(CancellationToken ct)
    {
        if (await OpenAIErrors.AuthenticateAsync(HttpContext) is not { } userId
            || !await OpenAIErrors.RequireScopeAsync(HttpContext, ApiScopes.AgentsRead))
        {
            return;
        }

        var limitText = Query<string?>("limit", isRequired: false);
        var limit = 20;
        if (limitText is not null && !(int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit)
            && limit is >= 1 and <= 100))
        {
            await ResponsesDoor.BadRequestAsync(HttpContext, "limit must be a whole number from 1 to 100.", "limit");
            return;
        }

        var order = Query<string?>("order", isRequired: false) ?? "desc";
        if (order is not ("asc" or "desc"))
        {
            await ResponsesDoor.BadRequestAsync(HttpContext, "order must be asc or desc.", "order");
            return;
        }

        if (await ResponsesDoor.FindConversationAsync(HttpContext, store, userId, Route<string>("conversation_id"), null, ct) is not { }
            row)
        {
            return;
        }

        var messages = row.AgentId is { } agentId ? await store.ConversationMessagesAsync(agentId, row.Id, ct) : [];
        var items = messages.SelectMany(m => ResponseObjects.Items(m.Message, m.Steps)).ToList();
        if (order == "desc")
        {
            items.Reverse();
        }

        if (Query<string?>("after", isRequired: false) is { } after)
        {
            var at = items.FindIndex(item => item["id"]!.GetValue<string>() == after);
            if (at < 0)
            {
                await ResponsesDoor.BadRequestAsync(HttpContext, $"No item with id '{after}' in this conversation.", "after");
                return;
            }

            items = items[(at + 1)..];
        }

        var page = items.Take(limit).ToList();
        var list = new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. page]),
            ["first_id"] = page.Count > 0 ? page[0]["id"]!.GetValue<string>() : null,
            ["last_id"] = page.Count > 0 ? page[^1]["id"]!.GetValue<string>() : null,
            ["has_more"] = items.Count > limit,
        };
        await Send.StringAsync(list.ToJsonString(), contentType: "application/json", cancellation: ct);
    }
}
