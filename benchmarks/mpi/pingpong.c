/* An OSU-like ping-pong between rank 0 and rank 1 (ours, not OSU's code): for each message size, half the
 * round-trip time (latency, us) and size / half the round trip (bandwidth, MB/s), after warm-up rounds.
 * Prints one line per size: "size latency_us bandwidth_MBps". */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0) fprintf(stderr, "pingpong needs exactly 2 ranks, got %d\n", size);
        MPI_Finalize();
        return 2;
    }
    const int largest = 4 << 20;
    char *buffer = malloc(largest);
    memset(buffer, rank, largest);
    char host[MPI_MAX_PROCESSOR_NAME], peer[MPI_MAX_PROCESSOR_NAME];
    int length;
    MPI_Get_processor_name(host, &length);
    MPI_Sendrecv(host, sizeof host, MPI_CHAR, 1 - rank, 0, peer, sizeof peer, MPI_CHAR, 1 - rank, 0, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
    if (rank == 0) printf("# rank 0 on %s, rank 1 on %s\n# bytes latency_us bandwidth_MBps\n", host, peer);
    for (int bytes = 1; bytes <= largest; bytes *= (bytes < 1024 ? 8 : 4)) {
        int rounds = bytes <= 65536 ? 2000 : 200, warmup = rounds / 10;
        double start = 0;
        for (int i = 0; i < rounds + warmup; i++) {
            if (i == warmup) {
                MPI_Barrier(MPI_COMM_WORLD);
                start = MPI_Wtime();
            }
            if (rank == 0) {
                MPI_Send(buffer, bytes, MPI_CHAR, 1, 1, MPI_COMM_WORLD);
                MPI_Recv(buffer, bytes, MPI_CHAR, 1, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            } else {
                MPI_Recv(buffer, bytes, MPI_CHAR, 0, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Send(buffer, bytes, MPI_CHAR, 0, 1, MPI_COMM_WORLD);
            }
        }
        double oneWay = (MPI_Wtime() - start) / rounds / 2;
        if (rank == 0) printf("%d %.2f %.1f\n", bytes, oneWay * 1e6, bytes / oneWay / 1e6);
    }
    free(buffer);
    MPI_Finalize();
    return 0;
}
