using System.Diagnostics;
using System.Text.Json.Nodes;
using AgentCloud.AgentWorker.Messaging;
using AgentCloud.Shared.Data;
using AgentCloud.Shared.Llm;
using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.UAgents;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Llm.Tools;

/// <summary>
/// <c>send_message</c>: delegation. The message is sent with the call's step (once, whatever crashes), carrying the run's call
/// chain; then the run parks until the reply comes or <see cref="LlmOptions.SendMessageReplyTimeout"/> passes (a stored deadline,
/// counted from the call), holding nothing meanwhile (see <see cref="ParkedRuns"/>).
/// </summary>
public sealed class SendMessageTool(
    NpgsqlDataSource dataSource,
    StaticEndpointMap endpointMap,
    IOptions<MessagingOptions> messaging,
    IOptions<LlmOptions> llm,
    Wakeups wakeups) : IBuiltInTool
{
    public string Name => BuiltInTools.SendMessage;

    public string Description => "Sends a text message to another agent by its address (agent1…) and returns its reply.";

    public string Schema =>
        """{"type":"object","properties":{"target":{"type":"string","description":"The agent's address, agent1…"},"text":{"type":"string"}},"required":["target","text"]}""";

    public async Task<ToolApplied> ApplyAsync(ToolInvocation call, NpgsqlConnection connection, NpgsqlTransaction transaction,
        CancellationToken cancellationToken)
    {
        var context = call.Context;
        var target = ToolArguments.Text(call.Arguments, "target", 200, true, out var targetError);
        var text = ToolArguments.Text(call.Arguments, "text", ToolArguments.MaxValueLength, true, out var textError);
        if ((targetError ?? textError) is { } error)
        {
            return ToolApplied.Refused(error);
        }

        target = Address.Normalize(target!);
        if (!Address.IsValid(target))
        {
            return ToolApplied.Refused($"'{target}' is not an agent address (agent1…).");
        }

        if (Outgoing.PastHopLimit(context.Message.Hops, messaging.Value.MaxHops) is { } why)
        {
            return ToolApplied.Refused($"This message cannot be sent on: {why}.");
        }

        if (string.IsNullOrEmpty(context.AgentAddress))
        {
            return ToolApplied.Refused("This agent has no address, so it cannot send messages.");
        }

        var route = await MessageTable.RouteAsync(connection, transaction, endpointMap, context.AgentId, target, overHttp: false,
            cancellationToken);
        if (route.Unreachable)
        {
            // As /send refuses it: nothing could deliver it, so the model hears so now instead of waiting for a reply.
            return ToolApplied.Refused(MessageTable.Unresolvable(target));
        }

        var send = Outgoing.CausedBy(context.Message, context.AgentId, context.AgentAddress, target, Outgoing.Text(text!), delegation: true)
            with
        {
            Traceparent = Activity.Current?.Id ?? context.Message.Traceparent,
            Why = $"a tool call of message {context.Message.Id}",
        };
        var (sent, _) = await Outgoing.StoreAsync(connection, transaction, send, route, cancellationToken);
        call.Data["sent_message_id"] = sent.Id.ToString("D");
        call.Data["sent_seq"] = sent.Seq;
        call.Data["target"] = target;
        // An agent here always says what it answers (in_reply_to); only a remote uAgent's next message in the session is its reply.
        call.Data["local"] = route.IsLocal;
        // The deadline is stored with the call: every attempt, on any worker, waits for the same moment.
        var timeout = LlmAgentConfig.Read(context.Config).ReplyTimeoutSeconds is { } seconds
            ? TimeSpan.FromSeconds(seconds)
            : llm.Value.SendMessageReplyTimeout;
        call.Data["reply_timeout_seconds"] = timeout.TotalSeconds;
        return new ToolApplied(AfterCommit: () =>
        {
            wakeups.Queued(sent);
            wakeups.LogWritten(context.AgentId);
        });
    }

    /// <summary>The reply, if it has come; "no reply" once the deadline passed; else the run parks until one of them.</summary>
    public async Task<ToolOutcome> ResultAsync(ToolInvocation call, CancellationToken cancellationToken)
    {
        var data = call.Data;
        var context = call.Context;
        var sentId = Guid.Parse(data["sent_message_id"]!.GetValue<string>());
        var sentSeq = data["sent_seq"]!.GetValue<long>();
        var target = data["target"]!.GetValue<string>();
        var timeout = data["reply_timeout_seconds"] is JsonValue stored ? TimeSpan.FromSeconds(stored.GetValue<double>())
            : llm.Value.SendMessageReplyTimeout;
        var deadline = DateTime.SpecifyKind(call.CalledAt, DateTimeKind.Utc) + timeout;
        var remoteSender = data["local"]?.GetValue<bool>() == true ? null : target;
        await using (var connection = await dataSource.OpenConnectionAsync(cancellationToken))
        {
            if (await LlmTools.FindReplyAsync(connection, context.AgentId, sentId, sentSeq, remoteSender, context.Message.Session,
                cancellationToken)
                is { } reply)
            {
                return new ToolOutcome(PayloadText.Of(reply.Payload, reply.SchemaDigest), TakenReply: reply.Id, TakenFrom: target);
            }
        }

        if (DateTime.UtcNow >= deadline)
        {
            return new ToolOutcome($"No reply from {target} within {timeout.TotalSeconds:0} seconds.", IsError: true);
        }

        throw new RunParksException(new RunWait(RunWait.Reply, deadline, sentId, remoteSender, sentSeq,
            ParkedRuns.ShownReplyWait(sentId, target, deadline)));
    }
}
