using SelfForcing.Model.Dit;
using SelfForcing.Training.Dmd;
using SelfForcing.Training.Objectives;
using SelfForcing.Training.Randomness;
using static TorchSharp.torch;

namespace SelfForcing.Training.Tests.Dmd;

/// <summary>A DMD trainer on tiny random models with one fixed prompt batch, for the trainer and checkpoint tests.</summary>
internal sealed class TinyDmd : IDisposable
{
    public static readonly WanConfig Generator = WanConfig.Tiny;
    public static readonly WanConfig Teacher = WanConfig.Tiny with { NumLayers = 3 };
    public static readonly WanConfig Critic = WanConfig.Tiny;

    public CausalWanModel Gen { get; } = new(Generator);
    public WanModel Real { get; } = new(Teacher);
    public WanModel Fake { get; } = new(Critic);
    public DmdTrainer Trainer { get; }
    public Tensor Prompts { get; }
    public Tensor Negative { get; }

    public TinyDmd(DmdSettings settings, long seed, int initSeed = 1)
    {
        Gen.InitializeRandom(initSeed, std: 0.1);
        Real.InitializeRandom(2, std: 0.1); // the frozen teacher comes from the pretrained weights, never from a trainer checkpoint
        Fake.InitializeRandom(initSeed + 2, std: 0.1);
        var generator = new GeneratorNetwork(Gen);
        var rollout = new SelfForcingRollout(generator, generator.Scheduler.Warp([1000, 750, 500, 250])) { FramesPerBlock = Generator.NumFramePerBlock };
        Trainer = new DmdTrainer(rollout, new ScoreNetwork(Real), new ScoreNetwork(Fake), [6, Generator.InDim, 4, 4], settings, new SeededTrainingRandom(seed));
        var gen = new TorchSharp.torch.Generator(5);
        Prompts = randn([1, Generator.TextLen, Generator.TextDim], generator: gen);
        Negative = randn([1, Generator.TextLen, Generator.TextDim], generator: gen);
    }

    public static Tensor Flat(nn.Module m) => cat(m.parameters().Select(p => p.detach().flatten()).ToArray()).clone();

    public DmdStepReport Step() => Trainer.TrainStep(Prompts, Prompts, Negative);

    public void Dispose() { Trainer.Dispose(); Gen.Dispose(); Real.Dispose(); Fake.Dispose(); Prompts.Dispose(); Negative.Dispose(); }
}
