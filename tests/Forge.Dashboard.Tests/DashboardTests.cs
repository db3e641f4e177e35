using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Forge.Testing;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Forge.Dashboard.Tests;

/// <summary>The dashboard in a real headless Chromium, against the embedded host.</summary>
[Collection(DashboardCollection.Name)]
public sealed class DashboardTests(DashboardForge forge)
{
    private static readonly string[] Pages = ["datasets", "tokenizers", "runs", "models", "builds", "playground", "feedback"];

    [SkippableFact]
    public async Task ThePageFilesArePublicAndTheApiIsNot()
    {
        Skip.IfNot(DashboardForge.HasChromium, DashboardForge.NoChromium);
        using var anonymous = new HttpClient { BaseAddress = forge.Client.BaseAddress };
        foreach (var path in new[] { "/", "/dashboard/", "/dashboard/app.js", "/dashboard/app.css" })
        {
            using var file = await anonymous.GetAsync(path);
            Assert.Equal(HttpStatusCode.OK, file.StatusCode);
        }
        using var missing = await anonymous.GetAsync("/dashboard/nothing.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var events = await anonymous.GetAsync("/api/orchestrator/events", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.Unauthorized, events.StatusCode);
        using var runs = await anonymous.GetAsync("/api/trainer/runs");
        Assert.Equal(HttpStatusCode.Unauthorized, runs.StatusCode);
    }

    [SkippableFact]
    public async Task EveryPageLoadsWithoutConsoleErrorsOnceTheKeyIsGiven()
    {
        Skip.IfNot(DashboardForge.HasChromium, DashboardForge.NoChromium);
        await using var context = await forge.NewContextAsync(withKey: false);
        var page = await context.NewPageAsync();
        var errors = CollectErrors(page);
        await page.GotoAsync("/");

        await Expect(page.Locator("#key-dialog")).ToBeVisibleAsync();
        await page.FillAsync("#api-key", forge.AdminKey);
        await page.ClickAsync("#key-form button[type=submit]");
        await Expect(page.Locator("#live")).ToHaveTextAsync("live");

        foreach (var name in Pages)
        {
            await page.GotoAsync($"/#/{name}");
            await Expect(page.Locator($"[data-page={name}][data-ready=true]")).ToBeVisibleAsync();
            await Expect(page.Locator("main .error")).ToHaveCountAsync(0);
        }
        await page.GotoAsync("/#/datasets/dashboard-text");
        await Expect(page.Locator("[data-page=datasets][data-ready=true]")).ToBeVisibleAsync();
        await Expect(page.GetByText("Cleaning report")).ToBeVisibleAsync();
        Assert.Empty(errors);
    }

    [SkippableFact]
    public async Task ARunsLossCurveGrowsWhileItTrainsWithoutAReload()
    {
        Skip.IfNot(DashboardForge.HasChromium, DashboardForge.NoChromium);
        await using var context = await forge.NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = CollectErrors(page);
        var runId = await forge.SubmitRunAsync("curve", steps: 100_000, logInterval: 20);
        await page.GotoAsync($"/#/runs/{runId}");
        await Expect(page.Locator("#live")).ToHaveTextAsync("live");
        await page.EvaluateAsync("window.sameDocument = true");

        var lossChart = page.Locator("svg.chart").First;
        var seen = new List<int>();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        while (seen.Distinct().Count() < 4 && DateTime.UtcNow < deadline)
        {
            if (int.TryParse(await lossChart.GetAttributeAsync("data-points"), out var points) && (seen.Count == 0 || points != seen[^1]))
                seen.Add(points);
            await Task.Delay(150);
        }
        Assert.True(seen.Distinct().Count() >= 4, $"plotted points seen: {string.Join(", ", seen)}");
        Assert.Equal(seen.OrderBy(p => p), seen);
        Assert.True(await page.EvaluateAsync<bool>("window.sameDocument === true"), "the page was reloaded");

        await page.ClickAsync("#cancel-run");
        await Expect(page.Locator("#cancel-run")).ToBeDisabledAsync();
        var run = await forge.WaitFinishedAsync($"/api/trainer/runs/{runId}", "the run to stop");
        Assert.Equal("Cancelled", run.GetProperty("state").GetString());
        await Expect(page.GetByText("Cancelled").First).ToBeVisibleAsync();
        Assert.Empty(errors);
    }

    [SkippableFact]
    public async Task ThePlaygroundStreamsTheAnswerTokenByToken()
    {
        Skip.IfNot(DashboardForge.HasChromium, DashboardForge.NoChromium);
        await using var context = await forge.NewContextAsync();
        var page = await context.NewPageAsync();
        var errors = CollectErrors(page);
        await page.GotoAsync("/#/playground");
        await Expect(page.Locator("[data-page=playground][data-ready=true]")).ToBeVisibleAsync();
        await page.FillAsync("#chat-max", "200");

        // Every length the answer's text takes, as the page shows it; a tiny model may stop early, so ask up to three times.
        int[] lengths = [];
        for (var attempt = 0; attempt < 3 && lengths.Length < 3; attempt++)
        {
            await page.EvaluateAsync("""
                () => {
                  window.lengths = [];
                  new MutationObserver(() => {
                    const answers = document.querySelectorAll('.answer-text');
                    const length = answers.length ? answers[answers.length - 1].textContent.length : 0;
                    if (length > 0 && window.lengths[window.lengths.length - 1] !== length) window.lengths.push(length);
                  }).observe(document.querySelector('main'), { childList: true, subtree: true, characterData: true });
                }
                """);
            await page.FillAsync("#chat-input", "the quiet river");
            await page.ClickAsync("#chat-send");
            await Expect(page.Locator(".answer[aria-busy=false]")).ToHaveCountAsync(attempt + 1);
            lengths = await page.EvaluateAsync<int[]>("window.lengths");
        }
        Assert.True(lengths.Length >= 3, $"the answer grew in {lengths.Length} steps: {string.Join(", ", lengths)}");
        Assert.Equal(lengths.OrderBy(l => l), lengths);
        Assert.Empty(errors);
    }

    [SkippableFact]
    public async Task FeedbackGivenOnAnAnswerIsCountedOnTheFeedbackPage()
    {
        Skip.IfNot(DashboardForge.HasChromium, DashboardForge.NoChromium);
        await using var context = await forge.NewContextAsync();
        var overview = await context.NewPageAsync();
        var chat = await context.NewPageAsync();
        var errors = CollectErrors(overview);
        errors.AddRange(CollectErrors(chat));

        await overview.GotoAsync($"/#/feedback/{DashboardForge.Model}");
        await Expect(overview.Locator("[data-page=feedback][data-ready=true]")).ToBeVisibleAsync();
        await Expect(overview.Locator("#live")).ToHaveTextAsync("live");
        var before = await FeedbackCountAsync();
        await Expect(overview.Locator("#feedback-total")).ToHaveTextAsync(before.ToString(System.Globalization.CultureInfo.InvariantCulture));

        await chat.GotoAsync("/#/playground");
        await Expect(chat.Locator("[data-page=playground][data-ready=true]")).ToBeVisibleAsync();
        await chat.FillAsync("#chat-input", "bright lamps");
        await chat.ClickAsync("#chat-send");
        var answer = chat.Locator(".answer[aria-busy=false]").Last;
        await Expect(answer).ToBeVisibleAsync();
        await answer.GetByRole(AriaRole.Button, new() { Name = "Thumbs up" }).ClickAsync();
        await Expect(answer.GetByRole(AriaRole.Status)).ToHaveTextAsync("Thanks: thumbs saved.");
        await Expect(answer.GetByRole(AriaRole.Button, new() { Name = "Thumbs up" })).ToHaveAttributeAsync("aria-pressed", "true");
        await answer.Locator("select.rating").SelectOptionAsync("5");
        await answer.GetByRole(AriaRole.Button, new() { Name = "Rate" }).ClickAsync();
        await Expect(answer.GetByRole(AriaRole.Status)).ToHaveTextAsync("Thanks: rating saved.");

        // The overview was not reloaded: the FeedbackReceived events brought the new counts.
        await Expect(overview.Locator("#feedback-total")).ToHaveTextAsync((before + 2).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(before + 2, await FeedbackCountAsync());
        var row = overview.Locator("table[aria-label='Feedback by version'] tbody tr").First;
        await Expect(row).ToContainTextAsync("5");
        Assert.Empty(errors);
    }

    private async Task<int> FeedbackCountAsync() =>
        (await forge.Client.GetFromJsonAsync<JsonElement>($"/api/feedback/models/{DashboardForge.Model}/summary")).GetProperty("feedback").GetInt32();

    /// <summary>Console errors and uncaught exceptions of a page, as they happen.</summary>
    private static List<string> CollectErrors(IPage page)
    {
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                lock (errors) errors.Add($"console: {message.Text}");
        };
        page.PageError += (_, error) =>
        {
            lock (errors) errors.Add($"page: {error}");
        };
        return errors;
    }
}
