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

    public CausalWanModel Gen { get; }
    public WanModel Real { get; }
    public WanModel Fake { get; }
    public DmdTrainer Trainer { get; }
    public Tensor Prompts { get; }
    public Tensor Negative { get; }

    /// <summary>The generator, teacher and critic of these tests, seeded: generator <paramref name="initSeed"/>, teacher 2,
    /// critic <paramref name="initSeed"/> + 2.</summary>
    public static DmdNetworks SeededNetworks(int initSeed = 1)
    {
        var gen = new CausalWanModel(Generator);
        var real = new WanModel(Teacher);
        var fake = new WanModel(Critic);
        gen.InitializeRandom(initSeed, std: 0.1);
        real.InitializeRandom(2, std: 0.1); // the frozen teacher comes from the pretrained weights, never from a trainer checkpoint
        fake.InitializeRandom(initSeed + 2, std: 0.1);
        return new DmdNetworks(gen, real, fake);
    }

    public TinyDmd(DmdSettings settings, long seed, int initSeed = 1)
    {
        (Gen, Real, Fake) = SeededNetworks(initSeed); // disposed with this fixture
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

/// <summary>The three networks of a DMD test, disposed together.</summary>
internal sealed record DmdNetworks(CausalWanModel Gen, WanModel Real, WanModel Fake) : IDisposable
{
    public void Dispose() { Gen.Dispose(); Real.Dispose(); Fake.Dispose(); }
}
