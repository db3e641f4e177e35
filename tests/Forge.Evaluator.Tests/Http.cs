using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Forge.Evaluator.Tests;

/// <summary>Small helpers for calling the services and reading their JSON and problem details.</summary>
public static class Http
{
    public static async Task<JsonElement> JsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonDocument.Parse(text).RootElement.Clone();
    }

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

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body) =>
        client.PostAsJsonAsync(path, body);

    public static Task<HttpResponseMessage> PostRawAsync(this HttpClient client, string path, string body, string contentType = "application/json") =>
        client.PostAsync(path, new StringContent(body, Encoding.UTF8, contentType));
}
