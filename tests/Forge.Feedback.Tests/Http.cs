using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Forge.Feedback.Tests;

/// <summary>Small helpers for calling the service and reading its JSON and problem details.</summary>
public static class Http
{
    public static async Task<JsonElement> ExpectAsync(this Task<HttpResponseMessage> request, HttpStatusCode status)
    {
        using var response = await request;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Asserts a 422 problem that names <paramref name="field"/> and returns its message for that field.</summary>
    public static async Task<string> ExpectInvalidAsync(this Task<HttpResponseMessage> request, string field)
    {
        var problem = await request.ExpectAsync(HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty(field, out var messages), $"Expected the problem to name {field}: {problem}");
        return messages[0].GetString()!;
    }

    public static Task<JsonElement> GetJsonAsync(this HttpClient client, string path) =>
        client.GetAsync(new Uri(path, UriKind.Relative)).ExpectAsync(HttpStatusCode.OK);

    /// <summary>A JSON body (an object, serialized, or a raw string), with optional headers such as Idempotency-Key.</summary>
    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body, params (string Name, string Value)[] headers) =>
        client.SendJsonAsync(HttpMethod.Post, path, body, headers);

    public static Task<HttpResponseMessage> PutJsonAsync(this HttpClient client, string path, object body) =>
        client.SendJsonAsync(HttpMethod.Put, path, body, []);

    /// <summary>Reads a JSONL response, checking its media type, as one JSON element per line.</summary>
    public static async Task<(string Text, IReadOnlyList<JsonElement> Lines)> GetJsonLinesAsync(this HttpClient client, string path)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/x-ndjson", response.Content.Headers.ContentType?.MediaType);
        return (text, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement.Clone()).ToList());
    }

    private static async Task<HttpResponseMessage> SendJsonAsync(this HttpClient client, HttpMethod method, string path, object body, (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path)
        {
            Content = body is string raw ? new StringContent(raw, Encoding.UTF8, "application/json") : JsonContent.Create(body),
        };
        foreach (var (name, value) in headers)
            request.Headers.Add(name, value);
        return await client.SendAsync(request);
    }
}
