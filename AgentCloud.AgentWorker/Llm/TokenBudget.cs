using AgentCloud.Shared.Messaging;
using AgentCloud.Shared.Messaging.Behaviors;
using AgentCloud.Shared.Quotas;
using Microsoft.Extensions.Options;
using Npgsql;

namespace AgentCloud.AgentWorker.Llm;

/// <summary>
/// The spending limits before each model call (<see cref="TokenLimits"/>: the owner's day, the agent's, and the outsiders' share
/// when the message is not the owner's). A call over one is not made: the message goes dead with the limit named in its error,
/// and what the run already spent stays counted. A call that starts under a limit may end past it, by that one call's tokens.
/// </summary>
public sealed class TokenBudget(NpgsqlDataSource dataSource, IOptions<QuotaOptions> quotas, ILogger<TokenBudget> logger)
{
    /// <summary>Throws <see cref="PermanentBehaviorException"/> with the limit reached when <paramref name="message"/>'s next model call
    /// would pass one.</summary>
    public async Task CheckAsync(MessageRow message, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        if (await TokenLimits.ReadAsync(connection, message.AgentId, message.Sender, cancellationToken) is not var
            (today, outsider, config))
        {
            return;
        }

        if (TokenLimits.Refusal(quotas.Value, TokenLimits.Read(config), today, outsider) is { } refusal)
        {
            logger.LogWarning("The run of message {MessageId} of agent {AgentId} stopped before its model call: {Refusal}", message.Id,
                message.AgentId, refusal);
            throw new PermanentBehaviorException(refusal);
        }
    }
}
