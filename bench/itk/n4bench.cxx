// n4bench - ITK's N4BiasFieldCorrectionImageFilter run as ANTs'
// N4BiasFieldCorrection runs it by default, and the accuracy measures that
// bench/preprocess.sh applies to it and to sulcus's bias_correct alike.
//
//   n4bench n4 IMAGE MASK CORRECTED FIELD
//       ANTs' defaults: pad the image so that 200 mm B-spline spans fit it
//       exactly, shrink 4, 4 levels of 50 iterations, convergence 1e-7,
//       spline order 3, histogram sharpening FWHM 0.15, Wiener noise 0.01,
//       200 bins; the mask's nonzero voxels; the field evaluated at full
//       resolution from the control-point lattice, as ANTs does.  Writes the
//       corrected image and the field (float NIfTI) and prints the CPU
//       seconds of the correction alone ("n4_cpu_s").  One thread.
//
//   n4bench measure IMAGE FIELD TRUE_FIELD MASK WM
//       For a correction that estimated FIELD (image / FIELD is the result):
//       the white-matter coefficient of variation of the image before and
//       after, and the error of FIELD against TRUE_FIELD inside MASK: the
//       mean absolute log-ratio after removing the global scale (the mean
//       log-ratio), which no correction can know.
#include "itkBSplineControlPointImageFilter.h"
#include "itkConstantPadImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"
#include "itkMultiThreaderBase.h"
#include "itkN4BiasFieldCorrectionImageFilter.h"
#include "itkRegionOfInterestImageFilter.h"
#include "itkShrinkImageFilter.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>

using Image = itk::Image<float, 3>;
using Mask = itk::Image<unsigned char, 3>;

template <typename T> static typename T::Pointer read(const char *path)
{
	auto r = itk::ImageFileReader<T>::New();
	r->SetFileName(path);
	r->Update();
	return r->GetOutput();
}

static void write(const Image *img, const char *path)
{
	auto w = itk::ImageFileWriter<Image>::New();
	w->SetInput(img);
	w->SetFileName(path);
	w->UseCompressionOn();
	w->Update();
}

static double cpu_seconds()
{
	return (double)std::clock() / CLOCKS_PER_SEC;
}

static int run_n4(const char *image_path, const char *mask_path, const char *corrected_path, const char *field_path)
{
	const double spline_distance = 200; // mm, ANTs' -b [200]
	const unsigned order = 3, shrink = 4, levels = 4;
	Image::Pointer image = read<Image>(image_path);
	Mask::Pointer mask = read<Mask>(mask_path);
	double t0 = cpu_seconds();

	// Binary mask, label 1 (ANTs' default).
	for (itk::ImageRegionIterator<Mask> it(mask, mask->GetLargestPossibleRegion()); !it.IsAtEnd(); ++it)
		it.Set(it.Get() ? 1 : 0);

	// ANTs pads each axis so that a whole number of spans covers it.
	Image::SizeType lower, upper;
	itk::FixedArray<unsigned, 3> spans;
	const Image::SizeType size = image->GetLargestPossibleRegion().GetSize();
	for (unsigned d = 0; d < 3; d++) {
		double domain = (size[d] - 1) * image->GetSpacing()[d];
		spans[d] = (unsigned)std::ceil(domain / spline_distance);
		unsigned long extra = (unsigned long)((spans[d] * spline_distance - domain) / image->GetSpacing()[d] + 0.5);
		lower[d] = extra / 2;
		upper[d] = extra - lower[d];
	}
	auto pad = itk::ConstantPadImageFilter<Image, Image>::New();
	pad->SetInput(image);
	pad->SetPadLowerBound(lower);
	pad->SetPadUpperBound(upper);
	pad->SetConstant(0);
	pad->Update();
	auto padm = itk::ConstantPadImageFilter<Mask, Mask>::New();
	padm->SetInput(mask);
	padm->SetPadLowerBound(lower);
	padm->SetPadUpperBound(upper);
	padm->SetConstant(0);
	padm->Update();

	auto shrinker = itk::ShrinkImageFilter<Image, Image>::New();
	shrinker->SetInput(pad->GetOutput());
	shrinker->SetShrinkFactors(shrink);
	auto mshrinker = itk::ShrinkImageFilter<Mask, Mask>::New();
	mshrinker->SetInput(padm->GetOutput());
	mshrinker->SetShrinkFactors(shrink);
	shrinker->Update();
	mshrinker->Update();

	using N4 = itk::N4BiasFieldCorrectionImageFilter<Image, Mask, Image>;
	auto n4 = N4::New();
	n4->SetInput(shrinker->GetOutput());
	n4->SetMaskImage(mshrinker->GetOutput());
	n4->SetMaskLabel(1);
	n4->SetUseMaskLabel(true);
	N4::VariableSizeArrayType iterations(levels);
	iterations.Fill(50);
	n4->SetMaximumNumberOfIterations(iterations);
	n4->SetNumberOfFittingLevels(levels);
	n4->SetConvergenceThreshold(1e-7);
	n4->SetSplineOrder(order);
	N4::ArrayType points;
	for (unsigned d = 0; d < 3; d++)
		points[d] = spans[d] + order;
	n4->SetNumberOfControlPoints(points);
	n4->SetBiasFieldFullWidthAtHalfMaximum(0.15);
	n4->SetWienerFilterNoise(0.01);
	n4->SetNumberOfHistogramBins(200);
	n4->Update();

	// The log field at full resolution over the padded grid, then cropped.
	using Lattice = N4::BiasFieldControlPointLatticeType;
	using Scalar = itk::Image<N4::ScalarType, 3>;
	auto bspliner = itk::BSplineControlPointImageFilter<Lattice, Scalar>::New();
	const Image *padded = pad->GetOutput();
	bspliner->SetInput(n4->GetLogBiasFieldControlPointLattice());
	bspliner->SetSplineOrder(order);
	bspliner->SetSize(padded->GetLargestPossibleRegion().GetSize());
	bspliner->SetOrigin(padded->GetOrigin());
	bspliner->SetDirection(padded->GetDirection());
	bspliner->SetSpacing(padded->GetSpacing());
	bspliner->Update();
	auto crop = itk::RegionOfInterestImageFilter<Scalar, Scalar>::New();
	// The spline's output is indexed from 0 at the padded grid's first voxel.
	Image::RegionType region = image->GetLargestPossibleRegion();
	for (unsigned d = 0; d < 3; d++)
		region.SetIndex(d, (long)lower[d]);
	crop->SetInput(bspliner->GetOutput());
	crop->SetRegionOfInterest(region);
	crop->Update();

	Image::Pointer field = Image::New(), corrected = Image::New();
	field->CopyInformation(image);
	field->SetRegions(image->GetLargestPossibleRegion());
	field->Allocate();
	corrected->CopyInformation(image);
	corrected->SetRegions(image->GetLargestPossibleRegion());
	corrected->Allocate();
	itk::ImageRegionConstIterator<Scalar> lf(crop->GetOutput(), crop->GetOutput()->GetLargestPossibleRegion());
	itk::ImageRegionConstIterator<Image> in(image, image->GetLargestPossibleRegion());
	itk::ImageRegionIterator<Image> fo(field, field->GetLargestPossibleRegion());
	itk::ImageRegionIterator<Image> co(corrected, corrected->GetLargestPossibleRegion());
	for (; !in.IsAtEnd(); ++lf, ++in, ++fo, ++co) {
		double b = std::exp(lf.Get()[0]);
		fo.Set((float)b);
		co.Set((float)(in.Get() / b));
	}
	double t1 = cpu_seconds();
	write(corrected, corrected_path);
	write(field, field_path);
	std::printf("n4_cpu_s\t%.3f\n", t1 - t0);
	return 0;
}

// Coefficient of variation of img (divided by field when corrected) inside m.
static double cov(const Image *img, const Image *field, bool corrected, const Mask *m)
{
	itk::ImageRegionConstIterator<Image> i(img, img->GetLargestPossibleRegion());
	itk::ImageRegionConstIterator<Image> f(field, field->GetLargestPossibleRegion());
	itk::ImageRegionConstIterator<Mask> k(m, m->GetLargestPossibleRegion());
	double s = 0, s2 = 0, n = 0;
	for (; !i.IsAtEnd(); ++i, ++f, ++k) {
		if (!k.Get() || i.Get() <= 0)
			continue;
		double v = corrected ? i.Get() / f.Get() : i.Get();
		s += v;
		s2 += v * v;
		n++;
	}
	double mean = s / n;
	return std::sqrt(std::fmax(s2 / n - mean * mean, 0)) / mean;
}

static int measure(const char *image_path, const char *field_path, const char *true_path, const char *mask_path,
		   const char *wm_path)
{
	Image::Pointer image = read<Image>(image_path), field = read<Image>(field_path), truth = read<Image>(true_path);
	Mask::Pointer mask = read<Mask>(mask_path), wm = read<Mask>(wm_path);
	itk::ImageRegionConstIterator<Image> f(field, field->GetLargestPossibleRegion());
	itk::ImageRegionConstIterator<Image> t(truth, truth->GetLargestPossibleRegion());
	itk::ImageRegionConstIterator<Mask> k(mask, mask->GetLargestPossibleRegion());
	double s = 0, n = 0;

	if (image->GetLargestPossibleRegion() != field->GetLargestPossibleRegion()
	    || image->GetLargestPossibleRegion() != truth->GetLargestPossibleRegion()) {
		std::fprintf(stderr, "n4bench measure: %s, %s and %s: expected the same grid\n", image_path, field_path,
			     true_path);
		return 1;
	}
	for (; !f.IsAtEnd(); ++f, ++t, ++k)
		if (k.Get()) {
			s += std::log(f.Get() / t.Get());
			n++;
		}
	double offset = s / n, e = 0;
	for (f.GoToBegin(), t.GoToBegin(), k.GoToBegin(); !f.IsAtEnd(); ++f, ++t, ++k)
		if (k.Get())
			e += std::fabs(std::log(f.Get() / t.Get()) - offset);
	std::printf("wm_cov_before\t%.4f\nwm_cov_after\t%.4f\nfield_error\t%.4f\n", cov(image, field, false, wm),
		    cov(image, field, true, wm), e / n);
	return 0;
}

int main(int argc, char **argv)
{
	itk::MultiThreaderBase::SetGlobalMaximumNumberOfThreads(1);
	itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(1);
	try {
		if (argc == 6 && !std::strcmp(argv[1], "n4"))
			return run_n4(argv[2], argv[3], argv[4], argv[5]);
		if (argc == 7 && !std::strcmp(argv[1], "measure"))
			return measure(argv[2], argv[3], argv[4], argv[5], argv[6]);
	} catch (const itk::ExceptionObject &e) {
		std::fprintf(stderr, "n4bench: %s\n", e.GetDescription());
		return 1;
	}
	std::fprintf(stderr, "usage: n4bench n4 IMAGE MASK CORRECTED FIELD\n"
			     "       n4bench measure IMAGE FIELD TRUE_FIELD MASK WM\n");
	return 2;
}
