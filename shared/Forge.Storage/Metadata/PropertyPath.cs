using System.Linq.Expressions;

namespace Forge.Storage.Metadata;

/// <summary>Turns <c>d =&gt; d.Lease.Owner</c> into <c>["Lease", "Owner"]</c> for index definitions.</summary>
internal static class PropertyPath
{
    public static IReadOnlyList<string> Of<T>(Expression<Func<T, object?>> property)
    {
        var body = property.Body;
        while (body is UnaryExpression { NodeType: ExpressionType.Convert or ExpressionType.ConvertChecked } convert)
            body = convert.Operand;
        var segments = new List<string>();
        while (body is MemberExpression member)
        {
            segments.Insert(0, member.Member.Name);
            body = member.Expression!;
        }
        if (body is not ParameterExpression || segments.Count == 0)
            throw new ArgumentException($"'{property}' must be a property path such as d => d.Name.", nameof(property));
        return segments;
    }
}
