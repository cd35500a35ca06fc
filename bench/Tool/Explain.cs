using System.Buffers.Text;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;

namespace Bench;

/// <summary>EXPLAIN (ANALYZE, BUFFERS) of the API's log query, first page and deep page, with its parameters bound.</summary>
public static class Explain
{
    public static async Task RunAsync(Args args)
    {
        var state = JsonNode.Parse(File.ReadAllText(args.Get("state")))!;
        var agent = state["logs_agent"]!.GetValue<int>();
        var parts = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(state["deep_cursor"]!.GetValue<string>())).Split('|');
        var afterTimestamp = new DateTime(long.Parse(parts[1]), DateTimeKind.Unspecified);
        var afterId = int.Parse(parts[2]);

        await using var dataSource = NpgsqlDataSource.Create(args.Get("conn"));
        await using var connection = await dataSource.OpenConnectionAsync();
        var text = new StringBuilder();
        var result = new JsonObject { ["name"] = "explain" };
        foreach (var (page, deep) in new[] { ("first", false), ("deep", true) })
        {
            var where = "agent_id = @AgentId AND timestamp IS NOT NULL"
                + (deep ? " AND (timestamp, id) < (@AfterTimestamp, @AfterId)" : "");
            await using var command = new NpgsqlCommand(
                $"EXPLAIN (ANALYZE, BUFFERS) SELECT id, agent_id, log_level, message, timestamp FROM agent_logs WHERE {where} ORDER BY " +
                $"timestamp DESC, id DESC LIMIT @Take",
                connection);
            command.Parameters.AddWithValue("AgentId", agent);
            command.Parameters.AddWithValue("Take", 101);
            if (deep)
            {
                command.Parameters.AddWithValue("AfterTimestamp", afterTimestamp);
                command.Parameters.AddWithValue("AfterId", afterId);
            }

            var lines = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    lines.Add(reader.GetString(0));
                }
            }

            text.AppendLine($"-- {page} page (agent {agent}, limit 100{(deep ? $", after ({afterTimestamp:O}, {afterId})" : "")})");
            lines.ForEach(line => text.AppendLine(line));
            text.AppendLine();
            var plan = string.Join('\n', lines);
            result[$"{page}_seq_scan"] = plan.Contains("Seq Scan", StringComparison.Ordinal);
            result[$"{page}_index"] = System.Text.RegularExpressions.Regex.Match(plan,
                @"(Index Only Scan|Index Scan|Bitmap Index Scan)( Backward)? using \S+") is { Success: true } match
                ? match.Value
                : "none";
            result[$"{page}_execution_ms"] = double.Parse(lines.Last(l => l.StartsWith("Execution Time", StringComparison.Ordinal))
                .Split(' ')[2],
                System.Globalization.CultureInfo.InvariantCulture);
        }

        File.WriteAllText(args.Get("plan"), text.ToString());
        Console.Write(text);
        Stats.Write(args.Get("out"), result);
    }
}
