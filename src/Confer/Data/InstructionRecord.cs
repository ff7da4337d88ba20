namespace Confer.Data;

/// <summary>
/// One instruction-tuning example in the common Alpaca shape. Dolly's <c>context</c>/<c>response</c> map onto
/// <see cref="Input"/>/<see cref="Output"/> so that prompts, encoders and partitioners see one type whatever the source.
/// </summary>
/// <param name="Instruction">The task the model is asked to do.</param>
/// <param name="Input">Extra context for the task; empty when there is none (the template then omits the input block).</param>
/// <param name="Output">The reference response the model is trained to produce.</param>
/// <param name="Category">Dolly task category (e.g. <c>open_qa</c>); used by non-IID partitioners. Null for Alpaca data.</param>
public sealed record InstructionRecord(string Instruction, string Input, string Output, string? Category);
