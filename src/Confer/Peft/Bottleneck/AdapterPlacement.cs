namespace Confer.Peft.Bottleneck;

/// <summary>Where a decoder layer gets bottleneck adapters (config key <c>adapter_placement</c>).</summary>
public enum AdapterPlacement
{
    /// <summary>After the attention sub-layer and after the MLP (Houlsby et al., arXiv 1902.00751; FedAdapter).</summary>
    Houlsby,

    /// <summary>After the MLP only (Pfeiffer et al., arXiv 2005.00247): half the adapters, about the same quality in their study.</summary>
    Pfeiffer,
}
