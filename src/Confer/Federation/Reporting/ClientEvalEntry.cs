namespace Confer.Federation.Reporting;

/// <summary>A <c>"kind":"client_eval"</c> line: the global model of <see cref="Round"/> evaluated on one client's local test split.</summary>
internal sealed record ClientEvalEntry(int Round, string Client, double? LocalLoss, long LocalExamples);
