# kernels: stock
# disks: 256M
# timeout: 600
# The submitter never waits for the disk: a cold 4 KiB random-read job at
# iodepth 32 keeps many misses in flight on the backing device at once.
# The backing device delays every read by 20 ms, so one miss at a time
# would give at most 50 IOPS; by Little's law the reads in flight are
# IOPS x 20 ms. Also prints the peak of sampled /sys/block/<dev>/inflight.
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
iops=$(grep -oE 'IOPS=[0-9.k]+' /tmp/fio.out | head -n 1 | cut -d= -f2)
case "$iops" in *k) iops=$(awk -v v="${iops%k}" 'BEGIN { printf "%d", v * 1000 }') ;; esac
iops=${iops%%.*}
echo "cold 4k random read, iodepth 32, 20 ms backing: $iops IOPS;" \
	"reads in flight on the backing device (Little's law): $((iops * 20 / 1000))," \
	"sampled peak $peak over $samples samples"
# Eight in flight at least, with a wide margin for a loaded TCG host.
[ "$iops" -ge 400 ] || fail "only $iops IOPS: misses are serialised"
dmsetup remove cold
dmsetup remove slow
rmmod dm_dcache
echo PASS
