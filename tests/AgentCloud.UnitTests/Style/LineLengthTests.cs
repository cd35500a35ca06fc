namespace AgentCloud.UnitTests.Style;

/// <summary>
/// <c>max_line_length = 140</c> of .editorconfig, checked: no analyzer of the SDK enforces it. A single-line raw
/// string (<c>"""…"""</c>, JSON a test sends as written) cannot break without changing it, so its line may be
/// longer; so may the A2A specification's examples, copied verbatim.
/// </summary>
public sealed class LineLengthTests
{
    private const int MaxLineLength = 140;

    private static readonly string[] Verbatim =
    [
        Path.Combine("tests", "AgentCloud.UnitTests", "A2A", "SpecVectors.cs"),
    ];

    [Fact]
    public void NoLineOfCSharpIsLongerThan140Characters()
    {
        var root = RepositoryRoot();
        var longLines =
            from path in Directory.EnumerateFiles(root, "*.cs", SearchOption.AllDirectories)
            let relative = Path.GetRelativePath(root, path)
            where !relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj" or "node_modules" or ".git")
                && !Verbatim.Contains(relative)
            from line in File.ReadLines(path).Select((text, index) => (Text: text, Number: index + 1))
            where line.Text.Length > MaxLineLength && !line.Text.Contains("\"\"\"", StringComparison.Ordinal)
            select $"{relative}:{line.Number} ({line.Text.Length} characters)";

        Assert.Empty(longLines);
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "AgentCloud.sln")))
            {
                return directory.FullName;
            }
        }

        throw new DirectoryNotFoundException($"No AgentCloud.sln above {AppContext.BaseDirectory}.");
    }
}
