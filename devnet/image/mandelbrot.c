/*
 * The CONUN demo workload: renders one tile of a Mandelbrot image.
 *
 * The image is cut into COLS x ROWS tiles; task i (TASK_INDEX, or --tile) renders tile i,
 * left to right, top to bottom, and writes it to /output as a binary PPM (tile.ppm) plus a
 * small JSON file saying where the tile goes (tile.json). The output depends only on the
 * arguments: plain double arithmetic (no -ffast-math, no threads, no clocks, no randomness),
 * so honest providers produce byte-identical files and their result hashes agree.
 *
 * Usage: mandelbrot [--width W] [--height H] [--cols C] [--rows R] [--iterations N]
 *                   [--center-x X] [--center-y Y] [--scale S] [--tile I] [--output DIR]
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct options {
    long width, height, cols, rows, iterations, tile;
    double center_x, center_y, scale;
    const char *output;
};

static void die(const char *message, const char *detail) {
    fprintf(stderr, "mandelbrot: %s%s%s\n", message, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static long parse_long(const char *text, const char *name, long min, long max) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max) die("bad value for", name);
    return value;
}

static double parse_double(const char *text, const char *name) {
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0') die("bad value for", name);
    return value;
}

/* A fixed palette: a smooth blue-gold-white ramp indexed by iteration count; black inside. */
static void colour(long iteration, long max_iterations, unsigned char rgb[3]) {
    if (iteration >= max_iterations) {
        rgb[0] = rgb[1] = rgb[2] = 0;
        return;
    }
    double t = (double)iteration / (double)max_iterations;
    double u = 1.0 - t;
    rgb[0] = (unsigned char)(9.0 * u * t * t * t * 255.0);
    rgb[1] = (unsigned char)(15.0 * u * u * t * t * 255.0);
    rgb[2] = (unsigned char)(8.5 * u * u * u * t * 255.0);
}

int main(int argc, char **argv) {
    struct options o = {512, 512, 2, 2, 256, -1, -0.743643887037151, 0.131825904205330, 0.012, "/output"};
    const char *task_index = getenv("TASK_INDEX");
    if (task_index != NULL) o.tile = parse_long(task_index, "TASK_INDEX", 0, 1L << 30);
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i];
        if (i + 1 >= argc) die("missing value after", flag);
        const char *value = argv[++i];
        if (strcmp(flag, "--width") == 0) o.width = parse_long(value, flag, 1, 16384);
        else if (strcmp(flag, "--height") == 0) o.height = parse_long(value, flag, 1, 16384);
        else if (strcmp(flag, "--cols") == 0) o.cols = parse_long(value, flag, 1, 1024);
        else if (strcmp(flag, "--rows") == 0) o.rows = parse_long(value, flag, 1, 1024);
        else if (strcmp(flag, "--iterations") == 0) o.iterations = parse_long(value, flag, 1, 1000000);
        else if (strcmp(flag, "--tile") == 0) o.tile = parse_long(value, flag, 0, 1L << 30);
        else if (strcmp(flag, "--center-x") == 0) o.center_x = parse_double(value, flag);
        else if (strcmp(flag, "--center-y") == 0) o.center_y = parse_double(value, flag);
        else if (strcmp(flag, "--scale") == 0) o.scale = parse_double(value, flag);
        else if (strcmp(flag, "--output") == 0) o.output = value;
        else die("unknown option", flag);
    }
    if (o.tile < 0) die("no tile: set TASK_INDEX or pass --tile", NULL);
    if (o.tile >= o.cols * o.rows) die("tile index out of range", NULL);
    if (o.width % o.cols != 0 || o.height % o.rows != 0) die("width/height must divide into cols/rows", NULL);

    long tile_w = o.width / o.cols, tile_h = o.height / o.rows;
    long x0 = (o.tile % o.cols) * tile_w, y0 = (o.tile / o.cols) * tile_h;
    /* One pixel's size in the complex plane: `scale` spans the image's shorter side. */
    double step = o.scale / (double)(o.width < o.height ? o.width : o.height);
    double left = o.center_x - step * (double)o.width / 2.0;
    double top = o.center_y + step * (double)o.height / 2.0;

    size_t bytes = (size_t)tile_w * (size_t)tile_h * 3;
    unsigned char *pixels = malloc(bytes);
    if (pixels == NULL) die("out of memory", NULL);
    for (long y = 0; y < tile_h; y++) {
        double ci = top - step * (double)(y0 + y);
        for (long x = 0; x < tile_w; x++) {
            double cr = left + step * (double)(x0 + x);
            double zr = 0.0, zi = 0.0;
            long n = 0;
            while (n < o.iterations && zr * zr + zi * zi <= 4.0) {
                double t = zr * zr - zi * zi + cr;
                zi = 2.0 * zr * zi + ci;
                zr = t;
                n++;
            }
            colour(n, o.iterations, pixels + ((size_t)y * (size_t)tile_w + (size_t)x) * 3);
        }
    }

    char path[4096];
    snprintf(path, sizeof path, "%s/tile.ppm", o.output);
    FILE *ppm = fopen(path, "wb");
    if (ppm == NULL) die("cannot write", path);
    fprintf(ppm, "P6\n%ld %ld\n255\n", tile_w, tile_h);
    if (fwrite(pixels, 1, bytes, ppm) != bytes || fclose(ppm) != 0) die("cannot write", path);
    free(pixels);

    snprintf(path, sizeof path, "%s/tile.json", o.output);
    FILE *json = fopen(path, "w");
    if (json == NULL) die("cannot write", path);
    fprintf(json,
            "{\"tile\":%ld,\"x\":%ld,\"y\":%ld,\"width\":%ld,\"height\":%ld,"
            "\"imageWidth\":%ld,\"imageHeight\":%ld,\"iterations\":%ld}\n",
            o.tile, x0, y0, tile_w, tile_h, o.width, o.height, o.iterations);
    if (fclose(json) != 0) die("cannot write", path);
    return 0;
}
