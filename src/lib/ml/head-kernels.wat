;; The head's training kernels, in WebAssembly with 128-bit SIMD: the first layer's two products (forward, and the
;; gradient of its weights) and one Adam update over all its weights. On tfjs's backends a step takes a dozen kernels
;; (each a call through the engine, the products with their operands uploaded, packed and read back); here the
;; weights, the batch and Adam's moments stay in this module's memory and each kernel is one call.
;;
;; Compiled by `npm run wasm` into head-kernels-binary.ts (a unit test fails when that file is out of date); used by
;; head-kernels.ts, which has the same kernels in plain JS for runtimes without WebAssembly SIMD.
;;
;; Every pointer is a byte offset into the exported memory, 4-byte aligned; every value is a float32. Matrices are
;; row-major; `stride` (values per row of the inputs and of the weights) is a multiple of 16, the rows zero-padded.
(module
  (memory (export "memory") 1)

  ;; out[r * units + u] = sum over j of x[r * stride + j] * weights[u * stride + j], then max(0, out) when relu is not
  ;; 0. Sixteen products at a time in four 4-lane sums, added at the end as ((s0 + s1) + (s2 + s3)), then its lanes
  ;; as ((l0 + l1) + (l2 + l3)).
  (func (export "forward")
    (param $x i32) (param $weights i32) (param $out i32)
    (param $rows i32) (param $units i32) (param $stride i32) (param $relu i32)
    (local $rowBytes i32) (local $row i32) (local $unit i32) (local $xRow i32) (local $xAt i32) (local $wAt i32)
    (local $xEnd i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $sum f32)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (block $rows_done
      (loop $next_row
        (br_if $rows_done (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $xRow (i32.add (local.get $x) (i32.mul (local.get $row) (local.get $rowBytes))))
        (local.set $xEnd (i32.add (local.get $xRow) (local.get $rowBytes)))
        (local.set $unit (i32.const 0))
        (block $units_done
          (loop $next_unit
            (br_if $units_done (i32.ge_u (local.get $unit) (local.get $units)))
            (local.set $xAt (local.get $xRow))
            (local.set $wAt (i32.add (local.get $weights) (i32.mul (local.get $unit) (local.get $rowBytes))))
            (local.set $s0 (v128.const f32x4 0 0 0 0))
            (local.set $s1 (v128.const f32x4 0 0 0 0))
            (local.set $s2 (v128.const f32x4 0 0 0 0))
            (local.set $s3 (v128.const f32x4 0 0 0 0))
            (block $products_done
              (loop $next_products
                (br_if $products_done (i32.ge_u (local.get $xAt) (local.get $xEnd)))
                (local.set $s0 (f32x4.add (local.get $s0)
                  (f32x4.mul (v128.load (local.get $xAt)) (v128.load (local.get $wAt)))))
                (local.set $s1 (f32x4.add (local.get $s1)
                  (f32x4.mul (v128.load offset=16 (local.get $xAt)) (v128.load offset=16 (local.get $wAt)))))
                (local.set $s2 (f32x4.add (local.get $s2)
                  (f32x4.mul (v128.load offset=32 (local.get $xAt)) (v128.load offset=32 (local.get $wAt)))))
                (local.set $s3 (f32x4.add (local.get $s3)
                  (f32x4.mul (v128.load offset=48 (local.get $xAt)) (v128.load offset=48 (local.get $wAt)))))
                (local.set $xAt (i32.add (local.get $xAt) (i32.const 64)))
                (local.set $wAt (i32.add (local.get $wAt) (i32.const 64)))
                (br $next_products)))
            (local.set $s0 (f32x4.add (f32x4.add (local.get $s0) (local.get $s1))
                                      (f32x4.add (local.get $s2) (local.get $s3))))
            (local.set $sum
              (f32.add
                (f32.add (f32x4.extract_lane 0 (local.get $s0)) (f32x4.extract_lane 1 (local.get $s0)))
                (f32.add (f32x4.extract_lane 2 (local.get $s0)) (f32x4.extract_lane 3 (local.get $s0)))))
            (if (local.get $relu) (then (local.set $sum (f32.max (local.get $sum) (f32.const 0)))))
            (f32.store
              (i32.add (local.get $out)
                (i32.shl (i32.add (i32.mul (local.get $row) (local.get $units)) (local.get $unit)) (i32.const 2)))
              (local.get $sum))
            (local.set $unit (i32.add (local.get $unit) (i32.const 1)))
            (br $next_unit)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $next_row))))

  ;; gradient[u * stride + j] = sum over r of upstream[r * units + u] * x[r * stride + j], in row order; rows whose
  ;; upstream value is 0 (a ReLU that was off) are skipped, which changes no sum.
  (func (export "backward")
    (param $x i32) (param $upstream i32) (param $gradient i32)
    (param $rows i32) (param $units i32) (param $stride i32)
    (local $rowBytes i32) (local $column i32) (local $unit i32) (local $row i32) (local $xAt i32) (local $upAt i32)
    (local $unitBytes i32) (local $target i32) (local $value f32) (local $splat v128)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $unitBytes (i32.shl (local.get $units) (i32.const 2)))
    ;; Sixteen columns at a time: their values of every row stay in the cache while every unit goes over them.
    (block $columns_done
      (loop $next_columns
        (br_if $columns_done (i32.ge_u (local.get $column) (local.get $rowBytes)))
        (local.set $unit (i32.const 0))
        (block $units_done
          (loop $next_unit
            (br_if $units_done (i32.ge_u (local.get $unit) (local.get $units)))
            (local.set $s0 (v128.const f32x4 0 0 0 0))
            (local.set $s1 (v128.const f32x4 0 0 0 0))
            (local.set $s2 (v128.const f32x4 0 0 0 0))
            (local.set $s3 (v128.const f32x4 0 0 0 0))
            (local.set $xAt (i32.add (local.get $x) (local.get $column)))
            (local.set $upAt (i32.add (local.get $upstream) (i32.shl (local.get $unit) (i32.const 2))))
            (local.set $row (i32.const 0))
            (block $rows_done
              (loop $next_row
                (br_if $rows_done (i32.ge_u (local.get $row) (local.get $rows)))
                (local.set $value (f32.load (local.get $upAt)))
                (if (f32.ne (local.get $value) (f32.const 0))
                  (then
                    (local.set $splat (f32x4.splat (local.get $value)))
                    (local.set $s0 (f32x4.add (local.get $s0)
                      (f32x4.mul (local.get $splat) (v128.load (local.get $xAt)))))
                    (local.set $s1 (f32x4.add (local.get $s1)
                      (f32x4.mul (local.get $splat) (v128.load offset=16 (local.get $xAt)))))
                    (local.set $s2 (f32x4.add (local.get $s2)
                      (f32x4.mul (local.get $splat) (v128.load offset=32 (local.get $xAt)))))
                    (local.set $s3 (f32x4.add (local.get $s3)
                      (f32x4.mul (local.get $splat) (v128.load offset=48 (local.get $xAt)))))))
                (local.set $xAt (i32.add (local.get $xAt) (local.get $rowBytes)))
                (local.set $upAt (i32.add (local.get $upAt) (local.get $unitBytes)))
                (local.set $row (i32.add (local.get $row) (i32.const 1)))
                (br $next_row)))
            (local.set $target
              (i32.add (local.get $gradient)
                (i32.add (i32.mul (local.get $unit) (local.get $rowBytes)) (local.get $column))))
            (v128.store (local.get $target) (local.get $s0))
            (v128.store offset=16 (local.get $target) (local.get $s1))
            (v128.store offset=32 (local.get $target) (local.get $s2))
            (v128.store offset=48 (local.get $target) (local.get $s3))
            (local.set $unit (i32.add (local.get $unit) (i32.const 1)))
            (br $next_unit)))
        (local.set $column (i32.add (local.get $column) (i32.const 64)))
        (br $next_columns))))

  ;; One Adam step over `count` values, in place, then a multiplier (decoupled weight decay; 1 for none):
  ;;   m = beta1 * m + (1 - beta1) * g
  ;;   v = beta2 * v + (1 - beta2) * g * g
  ;;   p = (p - stepSize * m / (sqrt(v) + epsilon)) * decay
  ;; with Adam's bias corrections folded into stepSize and epsilon by the caller. Four values at a time, then the
  ;; remaining zero to three one by one, with the same float32 operations in the same order.
  (func (export "adam")
    (param $gradient i32) (param $first i32) (param $second i32) (param $parameters i32) (param $count i32)
    (param $beta1 f32) (param $beta2 f32) (param $stepSize f32) (param $epsilon f32) (param $decay f32)
    (local $end i32) (local $vectorEnd i32)
    (local $beta1x4 v128) (local $beta2x4 v128) (local $rest1x4 v128) (local $rest2x4 v128)
    (local $stepx4 v128) (local $epsilonx4 v128) (local $decayx4 v128)
    (local $g v128) (local $m v128) (local $v v128)
    (local $g1 f32) (local $m1 f32) (local $v1 f32)
    (local.set $beta1x4 (f32x4.splat (local.get $beta1)))
    (local.set $beta2x4 (f32x4.splat (local.get $beta2)))
    (local.set $rest1x4 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta1))))
    (local.set $rest2x4 (f32x4.splat (f32.sub (f32.const 1) (local.get $beta2))))
    (local.set $stepx4 (f32x4.splat (local.get $stepSize)))
    (local.set $epsilonx4 (f32x4.splat (local.get $epsilon)))
    (local.set $decayx4 (f32x4.splat (local.get $decay)))
    (local.set $end (i32.add (local.get $gradient) (i32.shl (local.get $count) (i32.const 2))))
    (local.set $vectorEnd
      (i32.add (local.get $gradient) (i32.shl (i32.and (local.get $count) (i32.const -4)) (i32.const 2))))
    (block $vectors_done
      (loop $next_vector
        (br_if $vectors_done (i32.ge_u (local.get $gradient) (local.get $vectorEnd)))
        (local.set $g (v128.load (local.get $gradient)))
        (local.set $m
          (f32x4.add
            (f32x4.mul (local.get $beta1x4) (v128.load (local.get $first)))
            (f32x4.mul (local.get $rest1x4) (local.get $g))))
        (local.set $v
          (f32x4.add
            (f32x4.mul (local.get $beta2x4) (v128.load (local.get $second)))
            (f32x4.mul (local.get $rest2x4) (f32x4.mul (local.get $g) (local.get $g)))))
        (v128.store (local.get $first) (local.get $m))
        (v128.store (local.get $second) (local.get $v))
        (v128.store (local.get $parameters)
          (f32x4.mul
            (f32x4.sub
              (v128.load (local.get $parameters))
              (f32x4.div
                (f32x4.mul (local.get $stepx4) (local.get $m))
                (f32x4.add (f32x4.sqrt (local.get $v)) (local.get $epsilonx4))))
            (local.get $decayx4)))
        (local.set $gradient (i32.add (local.get $gradient) (i32.const 16)))
        (local.set $first (i32.add (local.get $first) (i32.const 16)))
        (local.set $second (i32.add (local.get $second) (i32.const 16)))
        (local.set $parameters (i32.add (local.get $parameters) (i32.const 16)))
        (br $next_vector)))
    (block $scalars_done
      (loop $next_scalar
        (br_if $scalars_done (i32.ge_u (local.get $gradient) (local.get $end)))
        (local.set $g1 (f32.load (local.get $gradient)))
        (local.set $m1
          (f32.add
            (f32.mul (local.get $beta1) (f32.load (local.get $first)))
            (f32.mul (f32.sub (f32.const 1) (local.get $beta1)) (local.get $g1))))
        (local.set $v1
          (f32.add
            (f32.mul (local.get $beta2) (f32.load (local.get $second)))
            (f32.mul (f32.sub (f32.const 1) (local.get $beta2)) (f32.mul (local.get $g1) (local.get $g1)))))
        (f32.store (local.get $first) (local.get $m1))
        (f32.store (local.get $second) (local.get $v1))
        (f32.store (local.get $parameters)
          (f32.mul
            (f32.sub
              (f32.load (local.get $parameters))
              (f32.div
                (f32.mul (local.get $stepSize) (local.get $m1))
                (f32.add (f32.sqrt (local.get $v1)) (local.get $epsilon))))
            (local.get $decay)))
        (local.set $gradient (i32.add (local.get $gradient) (i32.const 4)))
        (local.set $first (i32.add (local.get $first) (i32.const 4)))
        (local.set $second (i32.add (local.get $second) (i32.const 4)))
        (local.set $parameters (i32.add (local.get $parameters) (i32.const 4)))
        (br $next_scalar))))
)
