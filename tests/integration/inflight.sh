# kernels: stock
# disks: 256M
# timeout: 600
# The submitter never waits for the disk: a cold 4 KiB random-read job at
# iodepth 32 keeps many misses in flight on the backing device at once.
# Prints the mean and peak of /sys/block/<backing>/inflight reads.
. "$DCACHE_TOP/tests/guest-lib.sh"

modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=64
# A slow backing device, so that queued misses are visible in inflight.
echo "0 $(sectors $DISK0) delay $DISK0 0 20" | dmsetup create slow
dcache_create cold /dev/mapper/slow 4096
slow=$(dm_kname slow)

fio --name=cold --filename=/dev/mapper/cold --direct=1 --ioengine=libaio \
	--rw=randread --bs=4k --iodepth=32 --size=200m --runtime=8 --time_based \
	--output=/tmp/fio.out &
fio_pid=$!
samples=0 sum=0 peak=0
sleep 2
while kill -0 $fio_pid 2>/dev/null; do
	read -r r _ </sys/block/"$slow"/inflight
	samples=$((samples + 1)) sum=$((sum + r))
	[ "$r" -gt "$peak" ] && peak=$r
	sleep 0.1
done
wait $fio_pid || { cat /tmp/fio.out; fail "fio failed"; }
mean=$((sum / (samples ? samples : 1)))
echo "backing reads in flight at iodepth 32: mean $mean, peak $peak over $samples samples"
grep -E "IOPS" /tmp/fio.out
[ "$peak" -ge 24 ] || fail "at most $peak reads in flight: misses are serialised"
dmsetup remove cold
dmsetup remove slow
rmmod dm_dcache
echo PASS
