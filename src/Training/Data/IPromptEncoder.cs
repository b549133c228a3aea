using static TorchSharp.torch;

namespace SelfForcing.Training.Data;

/// <summary>The frozen text encoder as training sees it: a prompt's embeddings, and a name for the weights that made them.</summary>
public interface IPromptEncoder
{
    /// <summary>
    /// Names the encoder exactly enough that two encoders with the same identity give the same embeddings (model, weights,
    /// text length, version of the encoding code): cached embeddings are keyed by it.
    /// </summary>
    string Identity { get; }

    /// <summary>[1, text_len, text_dim].</summary>
    Tensor Encode(string prompt);
}
