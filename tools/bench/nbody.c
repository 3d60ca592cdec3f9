/* Benchmark guest (fp, x87 build): the n-body simulation of the planets, as in the benchmarks game,
   with doubles in the x87 unit (gcc -m32's default). argv[1] scales the number of steps.
   bench-cflags: -lm */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PI 3.141592653589793
#define SOLAR_MASS (4 * PI * PI)
#define DPY 365.24

struct planet { double x, y, z, vx, vy, vz, mass; };

static struct planet bodies[5] = {
    {0, 0, 0, 0, 0, 0, SOLAR_MASS},
    {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
     1.66007664274403694e-03 * DPY, 7.69901118419740425e-03 * DPY, -6.90460016972063023e-05 * DPY,
     9.54791938424326609e-04 * SOLAR_MASS},
    {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
     -2.76742510726862411e-03 * DPY, 4.99852801234917238e-03 * DPY, 2.30417297573763929e-05 * DPY,
     2.85885980666130812e-04 * SOLAR_MASS},
    {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
     2.96460137564761618e-03 * DPY, 2.37847173959480950e-03 * DPY, -2.96589568540237556e-05 * DPY,
     4.36624404335156298e-05 * SOLAR_MASS},
    {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
     2.68067772490389322e-03 * DPY, 1.62824170038242295e-03 * DPY, -9.51592254519715870e-05 * DPY,
     5.15138902046611451e-05 * SOLAR_MASS},
};

static void advance(double dt) {
    for (int i = 0; i < 5; i++) {
        struct planet *p = &bodies[i];
        for (int j = i + 1; j < 5; j++) {
            struct planet *q = &bodies[j];
            double dx = p->x - q->x, dy = p->y - q->y, dz = p->z - q->z;
            double d2 = dx * dx + dy * dy + dz * dz, mag = dt / (d2 * sqrt(d2));
            p->vx -= dx * q->mass * mag; p->vy -= dy * q->mass * mag; p->vz -= dz * q->mass * mag;
            q->vx += dx * p->mass * mag; q->vy += dy * p->mass * mag; q->vz += dz * p->mass * mag;
        }
    }
    for (int i = 0; i < 5; i++) {
        bodies[i].x += dt * bodies[i].vx; bodies[i].y += dt * bodies[i].vy; bodies[i].z += dt * bodies[i].vz;
    }
}

static double energy(void) {
    double e = 0;
    for (int i = 0; i < 5; i++) {
        struct planet *p = &bodies[i];
        e += 0.5 * p->mass * (p->vx * p->vx + p->vy * p->vy + p->vz * p->vz);
        for (int j = i + 1; j < 5; j++) {
            double dx = p->x - bodies[j].x, dy = p->y - bodies[j].y, dz = p->z - bodies[j].z;
            e -= p->mass * bodies[j].mass / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 100;
    printf("%.9f\n", energy());
    for (long i = 0; i < 80000L * rounds; i++) advance(0.01);
    printf("%.9f\n", energy());
    return 0;
}
