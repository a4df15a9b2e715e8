# kernels: test stock
# disks: 128M 128M 128M 128M
# timeout: 900
# Four dcache devices share the pool under fio verify at once; removing one
# leaves the others' cached blocks in place.
. "$DCACHE_TOP/tests/guest-lib.sh"

if on_test_kernel; then size=4m; else size=32m; fi
modprobe dm-mod 2>/dev/null || true
modprobe dm-dcache pool_mb=16
disks=($DISK0 $DISK1 $DISK2 $DISK3)
for i in 0 1 2 3; do
	dcache_create four$i "${disks[$i]}" 4096
done

step "fio verify on four devices at once ($size each)"
pids=()
for i in 0 1 2 3; do
	fio --name=four$i --filename=/dev/mapper/four$i --direct=1 --ioengine=libaio \
		--rw=randrw --bsrange=4k-64k --iodepth=8 --size=$size \
		--verify=crc32c --verify_fatal=1 --output=/tmp/fio$i.out &
	pids+=($!)
done
for i in 0 1 2 3; do
	wait "${pids[$i]}" || { cat /tmp/fio$i.out; fail "fio verify failed on four$i"; }
done
cached() { dmsetup status "$1" | awk '{ print $5 }'; }
# fio's blocks of a device that finished early may all have been evicted by
# the others' (128 MiB of work through a 16 MiB pool): read 1 MiB of each
# device twice, so that LRU-2 holds it, and count that.
for pass in 1 2; do
	for i in 0 1 2 3; do
		dd if=/dev/mapper/four$i of=/dev/null bs=64k count=16 iflag=direct status=none
	done
done
for i in 0 1 2 3; do
	[ "$(cached four$i)" -ge 256 ] || fail "four$i lost blocks to the others: $(dmsetup status four$i)"
done

step "remove one; the others keep their blocks"
before=$(cached four1)
dmsetup remove four0
[ "$(cached four1)" -eq "$before" ] || fail "four1 lost blocks when four0 went: $before -> $(cached four1)"
for i in 1 2 3; do dmsetup remove four$i; done
rmmod dm_dcache
echo PASS
