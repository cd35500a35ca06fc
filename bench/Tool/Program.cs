using Bench;

// bench-tool <command> --name value …; bench/run.sh drives it (see bench/README.md).
if (args.Length == 0)
{
    Console.Error.WriteLine("usage: bench-tool http|hash|setup|explain|messages|sql-messages|model-server|llm|stream|waits|hot|report " +
        "--option value …");
    return 2;
}

var options = new Args(args[1..]);
await (args[0] switch
{
    "http" => HttpLoad.RunAsync(options),
    "hash" => Hash.RunAsync(options),
    "setup" => Setup.RunAsync(options),
    "explain" => Explain.RunAsync(options),
    "messages" => MessageLoad.PostThroughApiAsync(options),
    "sql-messages" => MessageLoad.PlainSqlAsync(options),
    "model-server" => ModelServer.RunAsync(options),
    "llm" => LlmLoad.OverheadAsync(options),
    "stream" => LlmLoad.StreamAsync(options),
    "waits" => WaitLoad.RunAsync(options),
    "hot" => HotAgent.RunAsync(options),
    "report" => Report.RunAsync(options),
    _ => throw new ArgumentException($"Unknown command '{args[0]}'."),
});
return 0;
