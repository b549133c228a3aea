namespace SelfForcing.World.Tests;

/// <summary>Captions read back to what was written, short prompts parse, and words outside the grammar are named.</summary>
public sealed class CaptionGrammarTests
{
    [Fact]
    public void Every_drawn_caption_parses_back_to_its_scene()
    {
        for (int seed = 0; seed < 300; seed++)
        {
            var v = WorldVideo.Sample(WorldSettings.Default, seed);
            var text = CaptionGrammar.Render(v.Caption);
            var parsed = CaptionGrammar.Parse(text);
            Assert.Equal(v.Caption, parsed);
            Assert.Equal(v.Scene.Objects.Select(o => (o.Colour, o.Shape, o.Direction)), parsed.Objects.Select(o => (o.Colour, o.Shape, o.Direction)));
            Assert.True(parsed.Background is null || parsed.Background == v.Scene.Background);
        }
    }

    [Fact]
    public void Reads_the_examples_people_type()
    {
        var short_ = CaptionGrammar.Parse("A red square moves right.");
        Assert.Equal([new CaptionObject(ObjectColour.Red, ObjectShape.Square, MotionDirection.Right)], short_.Objects);
        Assert.Null(short_.Background);

        var full = CaptionGrammar.Parse("a blue triangle moves up quickly and a white circle moves down on a light background");
        Assert.Equal([new CaptionObject(ObjectColour.Blue, ObjectShape.Triangle, MotionDirection.Up, MotionSpeed.Fast),
            new CaptionObject(ObjectColour.White, ObjectShape.Circle, MotionDirection.Down)], full.Objects);
        Assert.Equal(WorldBackground.Light, full.Background);
        Assert.Equal("a blue triangle moves up quickly and a white circle moves down on a light background", CaptionGrammar.Render(full));
    }

    [Theory]
    [InlineData("a crimson circle moves left", "word 2 is 'crimson'")]
    [InlineData("a red circle moves sideways", "word 5 is 'sideways'")]
    [InlineData("a red circle moves left on a purple background", "word 8 is 'purple'")]
    [InlineData("a red circle", "ends after 3 words")]
    [InlineData("a red circle moves left and a red square moves up", "different colours")]
    public void Words_outside_the_grammar_are_named(string caption, string message)
    {
        var e = Assert.Throws<FormatException>(() => CaptionGrammar.Parse(caption));
        Assert.Contains(message, e.Message);
    }
}
