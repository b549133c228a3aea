namespace SelfForcing.Actors.Video;

/// <summary>Encodes each frame of a chunk as a baseline JPEG (ffmpeg's mjpeg), one payload per frame.</summary>
public static class JpegChunkEncoder
{
    public static IReadOnlyList<StreamPayload> Encode(byte[] rgb, int frames, int width, int height, long firstFrame, int quality = 3)
    {
        if (rgb.Length != (long)frames * width * height * 3) throw new ArgumentException($"{rgb.Length} bytes is not {frames} frames of {width}x{height} RGB24");
        var output = FfmpegProcess.Run(
        [
            "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", $"{width}x{height}", "-i", "-",
            "-c:v", "mjpeg", "-q:v", quality.ToString(System.Globalization.CultureInfo.InvariantCulture), "-pix_fmt", "yuvj420p",
            "-fflags", "+bitexact", "-f", "image2pipe", "-",
        ], rgb);
        var images = JpegSplitter.Split(output);
        if (images.Count != frames) throw new InvalidDataException($"ffmpeg wrote {images.Count} JPEGs for {frames} frames");
        return images.Select((img, i) => new StreamPayload(StreamPayload.Jpeg, firstFrame + i, 1, img)).ToList();
    }
}
