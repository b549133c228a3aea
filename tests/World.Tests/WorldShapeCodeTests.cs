using static TorchSharp.torch;

namespace SelfForcing.World.Tests;

/// <summary>Which shape sits where on the latent grid: the target <c>train world-vae --shape-code</c> teaches the encoder.</summary>
public sealed class WorldShapeCodeTests
{
    [Fact]
    public void Each_cell_holds_the_share_of_it_inside_the_box_of_an_object_of_that_shape()
    {
        using var scope = NewDisposeScope();
        // A 10-pixel triangle from (4, 8) moving right 2 pixels a frame, a 6-pixel circle from (20, 20) standing still.
        var triangle = new WorldObject(ObjectColour.Red, ObjectShape.Triangle, MotionDirection.Right, MotionSpeed.Fast, 10, 4, 8, 2);
        var circle = new WorldObject(ObjectColour.Blue, ObjectShape.Circle, MotionDirection.Up, MotionSpeed.Slow, 6, 20, 20, 0);
        var scene = new WorldScene(32, 32, 2, WorldBackground.Dark, [triangle, circle]);
        var code = WorldShapeCode.Of(scene, 4);
        Assert.Equal([2, 3, 8, 8], code.shape);
        Assert.True(code.min().item<float>() >= 0 && code.max().item<float>() <= 1);
        Assert.Equal(0f, code[.., (int)ObjectShape.Square].abs().sum().item<float>());
        for (int t = 0; t < 2; t++)
        {
            // Summed over cells, a shape's channel is its box's area in pixels over the cell's 16.
            Assert.Equal(100f / 16, code[t, (int)ObjectShape.Triangle].sum().item<float>(), 4);
            Assert.Equal(36f / 16, code[t, (int)ObjectShape.Circle].sum().item<float>(), 4);
        }
        // The triangle's box covers pixels 4..13 across at frame 0 and 6..15 at frame 1: cell column 0 (pixels 0..3) is
        // empty, column 1 (4..7) full at frame 0 and half at frame 1; rows 8..17 put cell row 2 (8..11) fully inside.
        Assert.Equal(0f, code[0, (int)ObjectShape.Triangle, 2, 0].item<float>());
        Assert.Equal(1f, code[0, (int)ObjectShape.Triangle, 2, 1].item<float>());
        Assert.Equal(0.5f, code[1, (int)ObjectShape.Triangle, 2, 1].item<float>());
        Assert.Throws<ArgumentException>(() => WorldShapeCode.Of(scene, 5));
    }

    [Fact]
    public void A_later_object_covers_an_earlier_one_where_their_boxes_overlap()
    {
        using var scope = NewDisposeScope();
        var square = new WorldObject(ObjectColour.Red, ObjectShape.Square, MotionDirection.Right, MotionSpeed.Slow, 8, 0, 0, 0);
        var circle = new WorldObject(ObjectColour.Green, ObjectShape.Circle, MotionDirection.Right, MotionSpeed.Slow, 8, 4, 0, 0);
        var code = WorldShapeCode.Of(new WorldScene(16, 16, 1, WorldBackground.Light, [square, circle]), 4);
        // Cell (0, 1) covers pixels 4..7 across, inside both boxes: the circle, drawn last, owns it.
        Assert.Equal(1f, code[0, (int)ObjectShape.Circle, 0, 1].item<float>());
        Assert.Equal(0f, code[0, (int)ObjectShape.Square, 0, 1].item<float>());
        Assert.Equal(1f, code[0, (int)ObjectShape.Square, 0, 0].item<float>());
    }
}
