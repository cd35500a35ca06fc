using System.Text.Json.Nodes;
using Dapper;
using Npgsql;

namespace AgentCloud.Shared.Quotas;

/// <summary>An agent's own daily token limits (config <c>token_limits</c>); null where it has none (its owner's apply).</summary>
public sealed record AgentTokenLimits(long? InputPerDay, long? OutputPerDay);

/// <summary>Tokens spent this UTC day: by all of the owner's agents, by this agent, and by outsiders' messages to this agent.</summary>
public sealed record TokensToday(long UserInput, long UserOutput, long AgentInput, long AgentOutput, long OutsiderInput,
    long OutsiderOutput);

/// <summary>One limit as the usage routes show it: input and output, used against the limit (null: no limit of this kind).</summary>
public sealed record TokenUse(long InputUsed, long? InputLimit, long OutputUsed, long? OutputLimit);

/// <summary>
/// The spending limits, one rule for the worker (which refuses a model call over one, before it is made) and the API (which
/// shows them): per user (<see cref="QuotaOptions.InputTokensPerDay"/>, <see cref="QuotaOptions.OutputTokensPerDay"/>, over all
/// their agents), per agent (config <c>token_limits: {input_per_day, output_per_day}</c>), and for messages from anyone but the
/// owner a share of the agent's (<see cref="QuotaOptions.OutsiderTokenSharePercent"/> of its own limit, else of its owner's),
/// so an outsider cannot spend the owner's budget. The counts are kept by a trigger on run_steps (migration 0091).
/// </summary>
public static class TokenLimits
{
    public const string ConfigField = "token_limits";
    public const long MaxPerDay = 1_000_000_000_000;

    /// <summary>What is wrong with <c>config.token_limits</c>, if anything.</summary>
    public static IEnumerable<string> Problems(JsonObject config)
    {
        if (config[ConfigField] is not { } limits)
        {
            yield break;
        }

        if (limits is not JsonObject fields || fields.Any(f => f.Key is not ("input_per_day" or "output_per_day")
                || f.Value is not JsonValue value || !value.TryGetValue<long>(out var n) || n is < 1 or > MaxPerDay))
        {
            yield return $"config.{ConfigField} must be an object of input_per_day and/or output_per_day, whole numbers from 1 to " +
                $"{MaxPerDay}.";
        }
    }

    public static AgentTokenLimits Read(JsonObject? config) =>
        config?[ConfigField] is JsonObject limits
            ? new AgentTokenLimits(Number(limits["input_per_day"]), Number(limits["output_per_day"]))
            : new AgentTokenLimits(null, null);

    /// <summary>Why the next model call of a message to this agent must not be made (a sentence naming the limit), or null.</summary>
    public static string? Refusal(QuotaOptions options, AgentTokenLimits agent, TokensToday today, bool outsider)
    {
        if (today.UserInput >= options.InputTokensPerDay)
        {
            return Reached(QuotaNames.InputTokensPerDay, "the owner's agents", today.UserInput, options.InputTokensPerDay, "input");
        }

        if (today.UserOutput >= options.OutputTokensPerDay)
        {
            return Reached(QuotaNames.OutputTokensPerDay, "the owner's agents", today.UserOutput, options.OutputTokensPerDay, "output");
        }

        if (agent.InputPerDay is { } agentInput && today.AgentInput >= agentInput)
        {
            return Reached($"{ConfigField}.input_per_day", "this agent", today.AgentInput, agentInput, "input");
        }

        if (agent.OutputPerDay is { } agentOutput && today.AgentOutput >= agentOutput)
        {
            return Reached($"{ConfigField}.output_per_day", "this agent", today.AgentOutput, agentOutput, "output");
        }

        if (outsider)
        {
            var (input, output) = OutsiderShare(options, agent);
            if (today.OutsiderInput >= input)
            {
                return Reached("outsider_input_tokens_per_day", "messages from others than the owner", today.OutsiderInput, input, "input");
            }

            if (today.OutsiderOutput >= output)
            {
                return Reached("outsider_output_tokens_per_day", "messages from others than the owner", today.OutsiderOutput, output,
                    "output");
            }
        }

        return null;
    }

    /// <summary>The outsiders' daily share of an agent's tokens (input, output).</summary>
    public static (long Input, long Output) OutsiderShare(QuotaOptions options, AgentTokenLimits agent) =>
        ((agent.InputPerDay ?? options.InputTokensPerDay) * options.OutsiderTokenSharePercent / 100,
         (agent.OutputPerDay ?? options.OutputTokensPerDay) * options.OutsiderTokenSharePercent / 100);

    /// <summary>
    /// Today's counts for agent <paramref name="agentId"/> and its owner, in one statement, and whether <paramref name="sender"/>
    /// is an outsider to it (the database's <c>sender_is_owner</c>, the trigger's rule). Null for an agent without an owner.
    /// </summary>
    public static async Task<(TokensToday Today, bool Outsider, JsonObject? Config)?> ReadAsync(NpgsqlConnection connection, int agentId,
        string sender, CancellationToken cancellationToken)
    {
        var row = await connection.QuerySingleOrDefaultAsync<TodayRow>(new CommandDefinition(
            """
            SELECT COALESCE(a.config, '{}'::jsonb)::text AS config, NOT sender_is_owner(@sender, a.user_id) AS outsider,
                   COALESCE(sum(u.input_tokens), 0) AS user_input, COALESCE(sum(u.output_tokens), 0) AS user_output,
                   COALESCE(sum(u.input_tokens) FILTER (WHERE u.agent_id = a.id), 0) AS agent_input,
                   COALESCE(sum(u.output_tokens) FILTER (WHERE u.agent_id = a.id), 0) AS agent_output,
                   COALESCE(sum(u.input_tokens) FILTER (WHERE u.agent_id = a.id AND u.outsider), 0) AS outsider_input,
                   COALESCE(sum(u.output_tokens) FILTER (WHERE u.agent_id = a.id AND u.outsider), 0) AS outsider_output
            FROM agents a
            LEFT JOIN token_usage_daily u ON u.user_id = a.user_id AND u.day = (now() AT TIME ZONE 'utc')::date
            WHERE a.id = @agentId AND a.user_id IS NOT NULL
            GROUP BY a.id
            """,
            new { agentId, sender }, cancellationToken: cancellationToken));
        return row is null
            ? null
            : (new TokensToday(row.UserInput, row.UserOutput, row.AgentInput, row.AgentOutput, row.OutsiderInput, row.OutsiderOutput),
                row.Outsider, JsonNode.Parse(row.Config) as JsonObject);
    }

    /// <summary>The limits of agent <paramref name="agentId"/> with today's use, as the usage routes show them.</summary>
    public static async Task<IReadOnlyDictionary<string, TokenUse>?>
        UsageAsync(NpgsqlConnection connection, QuotaOptions options, int agentId,
        CancellationToken cancellationToken)
    {
        // Read as the owner would send: the owner is never an outsider, so this is today's counts alone.
        if (await ReadAsync(connection, agentId, "", cancellationToken) is not var (today, _, config))
        {
            return null;
        }

        var agent = Read(config);
        var (outsiderInput, outsiderOutput) = OutsiderShare(options, agent);
        return new Dictionary<string, TokenUse>
        {
            ["user"] = new(today.UserInput, options.InputTokensPerDay, today.UserOutput, options.OutputTokensPerDay),
            ["agent"] = new(today.AgentInput, agent.InputPerDay, today.AgentOutput, agent.OutputPerDay),
            ["outsiders"] = new(today.OutsiderInput, outsiderInput, today.OutsiderOutput, outsiderOutput),
        };
    }

    private static string Reached(string limit, string who, long used, long allowed, string kind) =>
        $"Spending limit {limit} reached: {who} used {used} of {allowed} {kind} tokens this UTC day; the model was not called.";

    private static long? Number(JsonNode? node) => node is JsonValue value && value.TryGetValue<long>(out var n) ? n : null;

    private sealed class TodayRow
    {
        public string Config { get; init; } = "{}";
        public bool Outsider { get; init; }
        public long UserInput { get; init; }
        public long UserOutput { get; init; }
        public long AgentInput { get; init; }
        public long AgentOutput { get; init; }
        public long OutsiderInput { get; init; }
        public long OutsiderOutput { get; init; }
    }
}
